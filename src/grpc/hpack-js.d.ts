/** The part of hpack.js (HPACK, RFC 7541) that authority-mend.ts uses; the package ships no types. */
declare module 'hpack.js' {
  import type { EventEmitter } from 'node:events'

  export interface HeaderField {
    readonly name: string
    /** Bytes as a latin-1 string (one char per byte). */
    readonly value: string
    readonly neverIndex: boolean
    /** Encoding only: false = literal without indexing (the decoder's table is left alone). */
    readonly incremental?: boolean
  }

  export interface TableOptions {
    readonly table: { readonly maxSize: number }
  }

  export interface Decompressor extends EventEmitter {
    write(block: Buffer): boolean
    /** Decodes what was written; a malformed block is emitted as 'error' (synchronously). */
    execute(): void
    read(): HeaderField | null
  }

  export interface Compressor extends EventEmitter {
    write(fields: readonly HeaderField[]): boolean
    read(): Buffer | null
  }

  const hpack: {
    readonly decompressor: { create(options: TableOptions): Decompressor }
    readonly compressor: { create(options: TableOptions): Compressor }
  }
  export default hpack
}
