// XMP carries a location as properties named GPS… in any namespace: exif:GPSLatitude and its
// kin, the IPTC Extension's LocationCreated/LocationShown structures (whose fields are
// exif:GPS…), drone makers' own (drone-dji:GpsLatitude). A property is an element or an
// attribute; text content cannot hold one ("<" is escaped there). Place names
// (photoshop:City, Iptc4xmpCore:Location) are not coordinates and are kept.
const LOCATION_PROPERTY = /(?:<|\s)(?!xmlns:)[A-Za-z_][\w.-]*:gps[a-z][\w.-]*(?=\s*=|[\s/>])/i

/** Whether an XMP packet holds a GPS property. UTF-16/32 packets are read by dropping NULs. */
export function xmpHasLocation (packet: Buffer): boolean {
  let text = packet.toString('latin1')
  if (text.includes('\0')) text = text.replaceAll('\0', '')
  return LOCATION_PROPERTY.test(text)
}
