// heic-decode ships no types: the part of its API the HEIC thread uses.
declare module 'heic-decode' {
  interface DecodedImage {
    width: number
    height: number
    /** RGBA, 4 bytes a pixel, rows top to bottom. */
    data: Uint8ClampedArray
  }
  interface LazyImage {
    width: number
    height: number
    decode (): Promise<DecodedImage>
  }
  interface Decode {
    (input: { buffer: Uint8Array }): Promise<DecodedImage>
    /** Every top-level image, with its size known before any is decoded; dispose() frees them. */
    all (input: { buffer: Uint8Array }): Promise<LazyImage[] & { dispose (): void }>
  }
  const decode: Decode
  export default decode
}
