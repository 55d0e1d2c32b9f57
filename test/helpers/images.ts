import { randomBytes } from 'node:crypto'
import { deflateSync } from 'node:zlib'

function crc32 (data: Buffer): number {
  let crc = ~0
  for (const byte of data) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1))
  }
  return ~crc >>> 0
}

function chunk (type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

/**
 * A valid PNG of random pixels, about `approxBytes` long (stored without compression, so its
 * size is predictable): real image bytes, different on every call.
 */
export function randomPng (approxBytes = 2048): Buffer {
  const width = Math.max(1, Math.floor(Math.sqrt(approxBytes / 3)))
  const height = Math.max(1, Math.ceil(approxBytes / 3 / width))
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8-bit RGB
  const rows = Buffer.concat(Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), randomBytes(width * 3)])))
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 0 })),
    chunk('IEND', Buffer.alloc(0))
  ])
}

/**
 * A JPEG's markers up to its image data (SOI, a JFIF APP0, a start of scan) followed by random
 * bytes as that data: enough for content sniffing and for the location check, which reads the
 * markers before the scan and never the data.
 */
export function fakeJpeg (bytes = 1024): Buffer {
  const head = Buffer.from([
    0xff, 0xd8, // SOI
    0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // APP0 JFIF
    0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00 // SOS
  ])
  return Buffer.concat([head, randomBytes(Math.max(0, bytes - head.length))])
}
