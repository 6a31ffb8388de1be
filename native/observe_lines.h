// observe's JSON lines in C++: the twin of the fast path of
// src/engine/pipeline.ts (observedLines, with src/engine/bson-json.ts).
// For each frame of a capture file: parse, verify, transcode the BSON to
// JSON and write the whole line, or say why not, so that `observe
// --input-file` does no per-beacon work in JS.
//
// Whatever the fast path here is not sure of, it declines (kDeclined) and
// the caller runs the JS path for that frame, which is the reference the
// lines written here are tested against byte for byte
// (test/unit/line-encoder.test.ts): IPv6 addresses (their text form is
// JS's), doubles (so is theirs), any string or key JSON would escape or
// that is not ASCII, keys a JS object would reorder or merge (leading
// digit, repeated), `$` keys and `__proto__` (bson's), a header with no
// payload, more than kMaxKeys keys in one document, nesting deeper than
// kMaxDepth. Every length is checked against its own document's end.
#pragma once
#include <cstddef>
#include <cstdint>

#include "frame.h"

namespace netbeacon {

enum LineKind : uint8_t {
  kLine = 0,       // a JSON line was appended
  kNotBeacon = 1,  // not a UDP datagram to port 5240
  kRejected = 2,   // the beacon was rejected: see the reason
  kDeclined = 3,   // the JS path must decide this frame
};

// Room the writers below need: at most this many bytes for a document of
// len bytes (a BSON element of k bytes prints as at most 4k, see the
// bounds test in test/unit/line-encoder.test.ts), and for a prefix plus suffix.
constexpr size_t JsonRoom(size_t len) { return 4 * len + 64; }
constexpr size_t kLineFrameRoom = 512;

// Writes the JSON of the BSON document doc[0..len) at out (which has
// JsonRoom(len) bytes) and returns the end, or nullptr when declined. *type
// is the top-level `type` when it is an int32 or an int64, else -1.
uint8_t* BsonToJson(const uint8_t* doc, size_t len, uint8_t* out, int64_t* type);

// Writes `{"source_mac":…,"type":"<type>","payload":` for the frame and
// returns the end, or nullptr (IPv6, or a type other than 1 or 2: declined).
uint8_t* LinePrefix(const FrameFields& f, int64_t time_sec, uint8_t version, int64_t type, uint8_t* w);

// Writes the vid/outer_vid members, `}` and the newline; returns the end.
uint8_t* LineSuffix(const FrameFields& f, uint8_t* w);

}  // namespace netbeacon
