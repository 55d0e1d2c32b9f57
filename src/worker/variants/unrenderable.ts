/**
 * The image cannot be rendered, whatever the retry: damaged bytes, a format the renderer does
 * not read, too many pixels, too long to render. The upload stands; its variant URLs answer 404
 * with this message, and the admin shows it.
 */
export class UnrenderableImageError extends Error {
  override name = 'UnrenderableImageError'
}

const megapixels = (n: number): string => `${(n / 1e6).toFixed(1)} MP`

export function tooLarge (width: number, height: number, maxPixels: number): string {
  return `the image is ${width}×${height} (${megapixels(width * height)}), more than the ${megapixels(maxPixels)} the renderer accepts (VARIANT_MAX_INPUT_PIXELS)`
}
