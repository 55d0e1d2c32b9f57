// The renderings a browser can show of every image, and where they and the image are served.
// The URLs are the service's own (GET /i/{upload_id}[/display|/thumbnail]), never a storage
// link: they stream from storage whatever backs it, so they survive a Dropbox link ban.

export const VARIANTS = ['display', 'thumbnail'] as const
export type VariantName = typeof VARIANTS[number]

/** Longest side of each rendering, in pixels; a smaller image is never enlarged. */
export const VARIANT_MAX_SIDE: Record<VariantName, number> = { display: 2048, thumbnail: 320 }

export interface ImageUrls {
  original: string
  display: string
  thumbnail: string
}

/** The stable URLs of one image, on PUBLIC_BASE_URL (given without a trailing slash). */
export function imageUrls (publicBaseUrl: string, uploadId: string): ImageUrls {
  const base = `${publicBaseUrl}/i/${uploadId}`
  return { original: base, display: `${base}/display`, thumbnail: `${base}/thumbnail` }
}

/**
 * The storage folder of one image's renderings. A dot folder beside the phone-number folders:
 * the Dropbox sync ignores every folder whose name is not a phone number, and local storage's
 * /files route never serves dot paths.
 */
export const VARIANTS_ROOT = '.variants'

export function variantFolder (uploadId: string): string {
  return `/${VARIANTS_ROOT}/${uploadId}`
}

export function variantPath (uploadId: string, variant: VariantName, extension: string): string {
  return `${variantFolder(uploadId)}/${variant}${extension}`
}
