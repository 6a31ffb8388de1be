// The rtnetlink interface watcher's thread (no N-API: netlink_napi.cc is
// its glue). It owns one NETLINK_ROUTE socket subscribed to the link and
// IPv4/IPv6 address groups, dumps both tables, then reads events, and
// hands each batch to a function the glue gives it (netlink_napi.cc
// documents what a batch holds and why addresses come as a table).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "netlink.h"

namespace netbeacon {
namespace rtnl {

struct Batch {
  bool reset = false;
  bool has_addresses = false;
  std::vector<Message> links;  // kNewLink / kDelLink, in order
  std::vector<Addr> addresses;
  uint32_t malformed = 0;
  std::string error;  // when set, an 'error' event instead
};

// The thread that owns the socket. Nothing here touches N-API; the glue
// in netlink_napi.cc hands it a function that queues a batch for the JS thread.
class Watcher {
 public:
  using Post = std::function<bool(Batch*)>;
  explicit Watcher(Post post) : post_(std::move(post)) {}
  ~Watcher() { Stop(); }

  // Opens the socket (subscribed before the first dump, so nothing falls
  // between the two) and starts the thread. Throws std::system_error.
  void Start();

  // Dump both tables again (the next batch is a reset).
  void Resync();
  // The glue delivered a batch to JS: one fewer in flight (kMaxInflight).
  void Delivered();
  // Joins the thread and closes the socket. Idempotent.
  void Stop();

 private:
  void Wake();
  void Drain();
  bool Stopping() const { return stopping_.load(std::memory_order_acquire); }

  // Waits for the socket (or a wake-up) at most `ms` (-1: forever). True if readable.
  bool WaitReadable(int ms);

  // Reads every datagram waiting; parses them into msgs. Returns false when
  // the kernel dropped messages (ENOBUFS) or a datagram was cut: the caller
  // must dump again.
  bool ReadAll(uint32_t seq, std::vector<Message>* msgs, ParseResult* total);

  // One dump of `type`, with the events read meanwhile (in msgs, in the
  // order received). False when it must be redone: interrupted, or (then
  // *lost is set) the kernel dropped messages.
  bool Dump(uint16_t type, std::vector<Message>* msgs, ParseResult* result, bool* lost);

  // Link messages go to the batch in order; dumped addresses to its table.
  // True when an address event came among them.
  static bool Take(std::vector<Message>* msgs, Batch* b, std::vector<Addr>* table);

  // Every address, by dump, into the batch's table. False when the table
  // must be dumped again: an address event read during the dump is a
  // change the dump may or may not show (it is built a page at a time, as
  // we read), and an interrupted dump may be inconsistent. The table is
  // handed on anyway (it is no worse than the one JS holds); the next
  // dump, right after, settles it.
  bool DumpAddresses(Batch* b, bool* lost);

  // The links, by dump (with the link events read meanwhile, in order).
  // False when it must be done again (interrupted, or messages lost).
  bool DumpLinks(Batch* b, bool* lost);

  void Send(Batch* b);

  void Run();

  // Reads a burst of events: everything waiting, then whatever follows
  // within kCoalesceMs (at most kCoalesceMaxMs in all). False when the
  // kernel dropped some.
  bool ReadBurst(std::vector<Message>* msgs, ParseResult* r);

  void Loop();

  Post post_;
  int fd_ = -1;
  int wake_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> resync_{false};
  std::atomic<int> inflight_{0};
  uint32_t seq_ = 0;
  uint32_t portid_ = 0;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(kRecvBuffer);
};

}  // namespace rtnl
}  // namespace netbeacon
