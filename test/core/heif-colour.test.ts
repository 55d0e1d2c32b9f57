import { readFile } from 'node:fs/promises'
import t from 'tap'
import { heifColour } from '../../src/core/heif-colour.ts'
import { FIXTURE } from '../fixtures/heic/patches.ts'

/** An ISO-BMFF box: size, type, content. */
function box (type: string, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content)
  const head = Buffer.alloc(8)
  head.writeUInt32BE(8 + body.length)
  head.write(type, 4, 'latin1')
  return Buffer.concat([head, body])
}
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }
const nclx = (primaries: number) => box('colr', Buffer.from('nclx'), u16(primaries), u16(13), u16(6), Buffer.from([0x80]))

/** A HEIF whose item 2 is primary: properties in ipco, associated by ipma. */
function heif (properties: Buffer[], primaryProperties: number[]): Buffer {
  const ipma = box('ipma', Buffer.from([0, 0, 0, 0]), u32(1), u16(2), Buffer.from([primaryProperties.length, ...primaryProperties]))
  const meta = box('meta', Buffer.from([0, 0, 0, 0]), box('pitm', Buffer.from([0, 0, 0, 0]), u16(2)), box('iprp', box('ipco', ...properties), ipma))
  return Buffer.concat([box('ftyp', Buffer.from('heic'), u32(0), Buffer.from('mif1heic')), meta])
}

t.test('the ICC profile of a real HEIC (the Display P3 fixture)', async t => {
  const colour = heifColour(await readFile(FIXTURE))
  t.equal(colour?.kind, 'icc')
  if (colour?.kind !== 'icc') return
  t.equal(colour.profile.toString('latin1', 36, 40), 'acsp', 'an ICC profile (its signature at byte 36)')
  t.equal(colour.profile.readUInt32BE(0), colour.profile.length, 'whole: its own length field says so')
})

t.test('nclx code points, the primary item\'s first, and nothing where nothing is', async t => {
  const ispe = box('ispe', Buffer.alloc(12))
  t.match(heifColour(heif([ispe, nclx(12)], [1, 2])), { kind: 'nclx', primaries: 12, transfer: 13, matrix: 6, fullRange: true })
  // A colr of another item (a thumbnail's, say) is not the primary image's.
  t.match(heifColour(heif([nclx(1), nclx(12)], [2])), { kind: 'nclx', primaries: 12 })
  // None on the primary (a grid whose tiles carry it): the file's first.
  t.match(heifColour(heif([ispe, nclx(9)], [1])), { kind: 'nclx', primaries: 9 })
  t.equal(heifColour(heif([ispe], [1])), undefined, 'no colr: sRGB is meant')
  t.equal(heifColour(Buffer.from('not a heif file at all')), undefined)
  t.equal(heifColour(heif([ispe, nclx(12)], [1, 2]).subarray(0, 60)), undefined, 'truncated: nothing, no exception')
})
