/** esbuild bundles the CSS a module imports into app.css; the import itself has no value. */
declare module '*.css'
