/**
 * The type of `ui-assets.generated.ts`, which `npm run build:ui` (ui/build.ts) writes and git
 * ignores. This checked-in declaration lets `tsc --noEmit` pass on a fresh clone before the first
 * build; once the generated file exists, TypeScript reads that one instead.
 *
 * @module
 */
/** The dashboard page; it loads /ui/app.css and /ui/app.js with `?v=UI_HASH`. */
export declare const UI_HTML: string
/** The bundled app (preact included), an IIFE. */
export declare const UI_JS: string
export declare const UI_CSS: string
/** A short hash of UI_JS and UI_CSS. */
export declare const UI_HASH: string
