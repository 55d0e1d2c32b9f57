import { promisify } from 'node:util'
import { crc32, inflate } from 'node:zlib'
import { UnreadableMetadataError, type ByteReader } from './byte-reader.ts'
import { nothingFound, patched, tiffStart, type Found } from './found.ts'
import { bufferAccess, scanTiff } from './tiff.ts'

const inflateAsync = promisify(inflate)
const MAX_CHUNK = 16 * 1024 * 1024
const TEXT_CHUNKS = new Set(['tEXt', 'zTXt', 'iTXt'])
const XMP_KEYWORD = 'XML:com.adobe.xmp'
// ImageMagick and others keep EXIF and XMP as hex text: "Raw profile type exif".
const RAW_PROFILE = /^Raw profile type (exif|app1|xmp)$/i

async function inflated (data: Buffer): Promise<Buffer> {
  try {
    return await inflateAsync(data, { maxOutputLength: MAX_CHUNK })
  } catch {
    throw new UnreadableMetadataError('a compressed PNG text chunk cannot be decompressed')
  }
}

/** The text of a tEXt, zTXt or iTXt chunk after its keyword. */
async function chunkText (type: string, data: Buffer, keywordEnd: number): Promise<Buffer> {
  if (type === 'tEXt') return data.subarray(keywordEnd + 1)
  if (type === 'zTXt') return inflated(data.subarray(keywordEnd + 2))
  // iTXt: compression flag, method, language tag\0, translated keyword\0, text.
  const compressed = data[keywordEnd + 1] === 1
  const langEnd = data.indexOf(0, keywordEnd + 3)
  const translatedEnd = langEnd < 0 ? -1 : data.indexOf(0, langEnd + 1)
  if (translatedEnd < 0) throw new UnreadableMetadataError('a PNG iTXt chunk is malformed')
  const text = data.subarray(translatedEnd + 1)
  return compressed ? inflated(text) : text
}

/** ImageMagick's raw profile: "\n<name>\n<length>\n<hex digits over lines>". */
function rawProfileBytes (text: Buffer): Buffer {
  const lines = text.toString('latin1').trim().split('\n')
  const hex = lines.slice(2).join('').replace(/\s+/g, '')
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) throw new UnreadableMetadataError('a PNG raw profile is not hex')
  return Buffer.from(hex, 'hex')
}

/**
 * A PNG's metadata is in chunks: eXIf (EXIF), iTXt "XML:com.adobe.xmp" (XMP), and raw profiles in
 * text chunks. Every chunk header up to IEND is read (image data is skipped, not read). A patched
 * eXIf chunk gets its CRC recomputed, in the same patch.
 */
export async function scanPng (reader: ByteReader): Promise<Found> {
  const found = nothingFound()
  let at = 8
  for (;;) {
    const header = await reader.read(at, 8)
    const length = header.readUInt32BE(0)
    const type = header.toString('latin1', 4, 8)
    if (at + 12 + length > reader.size) throw new UnreadableMetadataError(`the PNG chunk '${type}' runs past the end of the file`)
    if (type === 'IEND') break
    if (type === 'eXIf' || TEXT_CHUNKS.has(type)) {
      if (type === 'eXIf') {
        if (length > MAX_CHUNK) throw new UnreadableMetadataError('the PNG eXIf chunk is too large to check')
        const data = await reader.read(at + 8, length)
        const start = tiffStart(data)
        const scan = await scanTiff(bufferAccess(data.subarray(start)))
        found.xmp.push(...scan.xmp)
        if (scan.patches.length > 0) {
          const body = patched(data, scan.patches.map(p => ({ offset: start + p.offset, bytes: p.bytes })))
          const crc = Buffer.alloc(4)
          crc.writeUInt32BE(crc32(body, crc32(Buffer.from(type, 'latin1'))))
          found.patches.push({ offset: at + 8, bytes: Buffer.concat([body, crc]) })
        }
      } else {
        const keyword = (await reader.read(at + 8, Math.min(length, 80))).toString('latin1').split('\0')[0]!
        const raw = RAW_PROFILE.exec(keyword)
        if (keyword === XMP_KEYWORD || raw) {
          if (length > MAX_CHUNK) throw new UnreadableMetadataError(`the PNG text chunk '${keyword}' is too large to check`)
          const text = await chunkText(type, await reader.read(at + 8, length), keyword.length)
          if (!raw || raw[1]!.toLowerCase() === 'xmp') {
            found.xmp.push(raw ? rawProfileBytes(text) : text)
          } else {
            const exif = rawProfileBytes(text)
            const scan = await scanTiff(bufferAccess(exif.subarray(tiffStart(exif))))
            found.xmp.push(...scan.xmp)
            // Hex text (maybe compressed) cannot be patched in place: ExifTool rewrites it.
            if (scan.patches.length > 0) found.rewrite.push(`EXIF GPS in a PNG '${keyword}' text chunk`)
          }
        }
      }
    }
    at += 12 + length
  }
  return found
}
