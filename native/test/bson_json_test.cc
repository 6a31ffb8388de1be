// BsonToJson and the observe line writers (observe_lines.cc): the JSON
// they write for the shapes beacons use, every shape they must leave to
// the JS path (declined: nullptr), and the room bound JsonRoom(len) that
// callers size their buffers by. Output goes to an exact-size block.
#include <gtest/gtest.h>

#include <string>

#include "frame.h"
#include "helpers.h"
#include "observe_lines.h"

namespace {

using nbtest::Bytes;
using nbtest::Exact;

struct Json {
  bool ok;
  std::string text;
  int64_t type;
};

Json ToJson(const Bytes& doc) {
  Exact in(doc);
  Exact out{Bytes(netbeacon::JsonRoom(doc.size()))};
  int64_t type = -7;
  uint8_t* end = netbeacon::BsonToJson(in.data(), in.size(), out.data(), &type);
  if (end == nullptr) return {false, "", type};
  EXPECT_LE(end, out.data() + out.size());
  return {true, std::string(reinterpret_cast<const char*>(out.data()), reinterpret_cast<const char*>(end)), type};
}

TEST(BsonJson, BeaconShapes) {
  const Bytes doc = nbtest::BsonDoc({
      nbtest::BsonString("uuid", "2b0b1b2e-0d4c-4b9a-a1f1-1c3d9b0e4f5a"),
      nbtest::BsonInt32("type", 2),
      nbtest::BsonSub(0x03, "payload",
                      nbtest::BsonDoc({nbtest::BsonString("hostname", "rack-1"), nbtest::BsonInt64("seq", -42),
                                       nbtest::BsonBool("up", true), nbtest::BsonBool("down", false),
                                       nbtest::BsonNull("nothing")})),
      nbtest::BsonSub(0x04, "vids", nbtest::BsonDoc({nbtest::BsonInt32("0", 10), nbtest::BsonInt32("1", 20)})),
  });
  const Json j = ToJson(doc);
  ASSERT_TRUE(j.ok);
  EXPECT_EQ(j.text,
            "{\"uuid\":\"2b0b1b2e-0d4c-4b9a-a1f1-1c3d9b0e4f5a\",\"type\":2,\"payload\":{\"hostname\":\"rack-1\","
            "\"seq\":-42,\"up\":true,\"down\":false,\"nothing\":null},\"vids\":[10,20]}");
  EXPECT_EQ(j.type, 2);
}

TEST(BsonJson, TypeIsTopLevelIntegerOnly) {
  EXPECT_EQ(ToJson(nbtest::BsonDoc({nbtest::BsonInt64("type", 1)})).type, 1);
  EXPECT_EQ(ToJson(nbtest::BsonDoc({nbtest::BsonString("type", "1")})).type, -1);
  EXPECT_EQ(ToJson(nbtest::BsonDoc({nbtest::BsonSub(0x03, "x", nbtest::BsonDoc({nbtest::BsonInt32("type", 1)}))})).type,
            -1);
  const Json empty = ToJson(nbtest::BsonDoc({}));
  ASSERT_TRUE(empty.ok);
  EXPECT_EQ(empty.text, "{}");
  EXPECT_EQ(empty.type, -1);
}

TEST(BsonJson, Int64SafeIntegersOnly) {
  constexpr int64_t kSafe = (int64_t{1} << 53) - 1;
  EXPECT_EQ(ToJson(nbtest::BsonDoc({nbtest::BsonInt64("n", kSafe)})).text, "{\"n\":9007199254740991}");
  EXPECT_EQ(ToJson(nbtest::BsonDoc({nbtest::BsonInt64("n", -kSafe)})).text, "{\"n\":-9007199254740991}");
  EXPECT_FALSE(ToJson(nbtest::BsonDoc({nbtest::BsonInt64("n", kSafe + 1)})).ok);
  EXPECT_FALSE(ToJson(nbtest::BsonDoc({nbtest::BsonInt64("n", INT64_MIN)})).ok);
  EXPECT_EQ(ToJson(nbtest::BsonDoc({nbtest::BsonInt32("n", INT32_MIN)})).text, "{\"n\":-2147483648}");
}

// What JS must decide: it prints these differently, or a JS object would
// reorder or merge the keys.
TEST(BsonJson, Declined) {
  const Bytes declined[] = {
      nbtest::BsonDoc({nbtest::BsonDouble("d", 1.5)}),
      nbtest::BsonDoc({nbtest::BsonString("s", "quote\"")}),
      nbtest::BsonDoc({nbtest::BsonString("s", "back\\slash")}),
      nbtest::BsonDoc({nbtest::BsonString("s", "tab\t")}),
      nbtest::BsonDoc({nbtest::BsonString("s", "caf\xc3\xa9")}),
      nbtest::BsonDoc({nbtest::BsonInt32("$where", 1)}),
      nbtest::BsonDoc({nbtest::BsonInt32("1abc", 1)}),
      nbtest::BsonDoc({nbtest::BsonInt32("__proto__", 1)}),
      nbtest::BsonDoc({nbtest::BsonInt32("k", 1), nbtest::BsonInt32("k", 2)}),
      nbtest::Cat({nbtest::BsonDoc({}), Bytes{0}}),  // bytes after the document
  };
  for (const Bytes& d : declined) EXPECT_FALSE(ToJson(d).ok);
  // 64 keys are written, 65 declined.
  std::vector<Bytes> els;
  std::string want = "{";
  for (int i = 0; i < 65; i++) {
    els.push_back(nbtest::BsonInt32("k" + std::to_string(i), i));
    if (i < 64) want += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":" + std::to_string(i);
  }
  Bytes body;
  for (int i = 0; i < 64; i++) body = nbtest::Cat({body, els[i]});
  const Bytes doc64 = nbtest::Cat({nbtest::Le32(static_cast<uint32_t>(body.size() + 5)), body, {0}});
  EXPECT_EQ(ToJson(doc64).text, want + "}");
  body = nbtest::Cat({body, els[64]});
  EXPECT_FALSE(ToJson(nbtest::Cat({nbtest::Le32(static_cast<uint32_t>(body.size() + 5)), body, {0}})).ok);
}

TEST(BsonJson, DepthLimit) {
  auto nested = [](int depth) {
    Bytes d = nbtest::BsonDoc({});
    for (int i = 0; i < depth; i++) d = nbtest::BsonDoc({nbtest::BsonSub(0x03, "a", d)});
    return d;
  };
  EXPECT_TRUE(ToJson(nested(32)).ok);
  EXPECT_FALSE(ToJson(nested(33)).ok);
}

// Any length that does not fit its own document is declined, at every
// truncation and on every corrupted length byte.
TEST(BsonJson, LengthsCheckedAgainstTheirDocument) {
  const Bytes doc = nbtest::BsonDoc({nbtest::BsonString("s", "abc"), nbtest::BsonInt32("i", 1),
                                     nbtest::BsonSub(0x03, "d", nbtest::BsonDoc({nbtest::BsonInt64("x", 5)}))});
  ASSERT_TRUE(ToJson(doc).ok);
  for (size_t n = 0; n < doc.size(); n++) EXPECT_FALSE(ToJson(Bytes(doc.begin(), doc.begin() + n)).ok) << n;
  for (size_t i = 0; i < doc.size(); i++) {
    for (int v : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      Bytes m = doc;
      m[i] = static_cast<uint8_t>(v);
      const Json j = ToJson(m);  // ASan checks the reads; the result may be either
      if (j.ok) EXPECT_LE(j.text.size(), netbeacon::JsonRoom(m.size()));
    }
  }
}

// The room bound: the worst case per element is a 1-byte-named boolean or
// null, or a short int32 written in full (4k bytes for a k-byte element).
TEST(BsonJson, RoomBoundHoldsForTheDensestDocuments) {
  std::vector<Bytes> els;
  for (int i = 0; i < 26; i++) els.push_back(nbtest::BsonNull(std::string(1, static_cast<char>('a' + i))));
  Bytes body;
  for (const Bytes& e : els) body = nbtest::Cat({body, e});
  const Bytes nulls = nbtest::Cat({nbtest::Le32(static_cast<uint32_t>(body.size() + 5)), body, {0}});
  const Json j = ToJson(nulls);
  ASSERT_TRUE(j.ok);
  EXPECT_LE(j.text.size(), netbeacon::JsonRoom(nulls.size()));
  const Json mins = ToJson(nbtest::BsonDoc({nbtest::BsonInt32("a", INT32_MIN), nbtest::BsonInt32("b", INT32_MIN)}));
  ASSERT_TRUE(mins.ok);
}

TEST(ObserveLine, PrefixAndSuffix) {
  const Bytes frame = nbtest::Udp4Frame(nbtest::Str("x"), {{0x88a8, 100}, {0x8100, 200}});
  netbeacon::FrameFields ff;
  ASSERT_TRUE(netbeacon::ParseFrame(frame.data(), frame.size(), {}, &ff));
  Exact line{Bytes(netbeacon::kLineFrameRoom)};
  uint8_t* w = netbeacon::LinePrefix(ff, 1795000000, 2, 1, line.data());
  ASSERT_NE(w, nullptr);
  w = netbeacon::LineSuffix(ff, w);
  ASSERT_LE(w, line.data() + line.size());
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(line.data()), reinterpret_cast<const char*>(w)),
      "{\"source_mac\":\"02:fc:00:00:00:01\",\"destination_mac\":\"01:00:5e:00:00:76\",\"source_ip\":\"10.0.0.1\","
      "\"destination_ip\":\"224.0.0.118\",\"source_port\":40000,\"destination_port\":5240,\"time\":1795000000,"
      "\"version\":2,\"type\":\"solicitation\",\"payload\":,\"vid\":200,\"outer_vid\":100}\n");
  EXPECT_EQ(netbeacon::LinePrefix(ff, 0, 2, 3, line.data()), nullptr) << "type 3: declined";
  const Bytes v6 = nbtest::Udp6Frame(nbtest::Str("x"));
  ASSERT_TRUE(netbeacon::ParseFrame(v6.data(), v6.size(), {}, &ff));
  EXPECT_EQ(netbeacon::LinePrefix(ff, 0, 2, 1, line.data()), nullptr) << "IPv6: declined (JS formats it)";
}

}  // namespace
