// What a decrypted attachment is, decided from its first bytes (never from its name or from what
// the sender said): only these types are previewed or opened as such; anything else is offered
// as a download of opaque bytes. SVG is not among them: it may carry script.
const SIGNATURES = [
  { type: "image/jpeg", image: true, bytes: [0xff, 0xd8, 0xff] },
  { type: "image/png", image: true, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { type: "image/gif", image: true, bytes: [0x47, 0x49, 0x46, 0x38] }, // "GIF8"
  { type: "application/pdf", image: false, bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] }, // "%PDF-"
];
const OPAQUE = { type: "application/octet-stream", image: false };

const startsWith = (bytes, prefix, at = 0) =>
  bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);

export function sniff(bytes) {
  for (const signature of SIGNATURES) {
    if (startsWith(bytes, signature.bytes)) return { type: signature.type, image: signature.image };
  }
  // WebP: "RIFF" <size> "WEBP".
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) {
    return { type: "image/webp", image: true };
  }
  return OPAQUE;
}
