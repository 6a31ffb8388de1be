// The rtnetlink interface watcher's thread (netlink_watch.h).
#include "netlink_watch.h"

#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace netbeacon {
namespace rtnl {
namespace {

constexpr uint32_t kGroups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
constexpr int kCoalesceMs = 10;
constexpr int kCoalesceMaxMs = 50;
constexpr int kDumpTimeoutMs = 5000;
constexpr int kDumpTries = 8;
// Batches handed to JS and not yet delivered: past this the thread stops
// reading, and if the kernel then overruns the socket it dumps again.
constexpr int kMaxInflight = 4;

}  // namespace

void Watcher::Start() {
  wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  fd_ = OpenSocket(kGroups, &portid_);
  if (fd_ < 0) throw std::system_error(-fd_, std::generic_category(), "rtnetlink socket");
  thread_ = std::thread([this] { Run(); });
}

void Watcher::Resync() {
  resync_.store(true, std::memory_order_release);
  Wake();
}

void Watcher::Delivered() {
  inflight_.fetch_sub(1, std::memory_order_acq_rel);
  Wake();
}

void Watcher::Stop() {
  if (thread_.joinable()) {
    stopping_.store(true, std::memory_order_release);
    Wake();
    thread_.join();
  }
  if (fd_ >= 0) close(fd_);
  if (wake_ >= 0) close(wake_);
  fd_ = wake_ = -1;
}

void Watcher::Wake() {
  const uint64_t one = 1;
  if (wake_ >= 0) (void)!write(wake_, &one, sizeof one);
}

void Watcher::Drain() {
  uint64_t v;
  (void)!read(wake_, &v, sizeof v);
}

bool Watcher::WaitReadable(int ms) {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_, POLLIN, 0}};
  const int n = poll(fds, 2, ms);
  if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");
  if (n > 0 && (fds[1].revents & POLLIN)) Drain();
  return n > 0 && (fds[0].revents & POLLIN);
}

bool Watcher::ReadAll(uint32_t seq, std::vector<Message>* msgs, ParseResult* total) {
  for (;;) {
    const ssize_t n = recv(fd_, buf_.data(), buf_.size(), MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == ENOBUFS) return false;
      throw std::system_error(errno, std::generic_category(), "recv(rtnetlink)");
    }
    if (static_cast<size_t>(n) > buf_.size()) return false;
    const ParseResult r = Parse(buf_.data(), static_cast<size_t>(n), seq, portid_, msgs);
    total->done = total->done || r.done;
    total->other += r.other;
    total->interrupted = total->interrupted || r.interrupted;
    if (r.error) total->error = r.error;
    total->malformed += r.malformed;
  }
}

bool Watcher::Dump(uint16_t type, std::vector<Message>* msgs, ParseResult* result, bool* lost) {
  const uint32_t seq = ++seq_ == 0 ? ++seq_ : seq_;
  if (const int e = RequestDump(fd_, type, seq))
    throw std::system_error(e, std::generic_category(), "rtnetlink dump request");
  *result = ParseResult{};
  while (!result->done) {
    if (Stopping()) return false;
    if (!WaitReadable(kDumpTimeoutMs) && !Stopping())
      throw std::runtime_error("rtnetlink: no answer to a dump within 5 s");
    if (!ReadAll(seq, msgs, result)) {
      *lost = true;
      return false;
    }
  }
  if (result->error) throw std::system_error(result->error, std::generic_category(), "rtnetlink dump");
  return !result->interrupted;
}

bool Watcher::Take(std::vector<Message>* msgs, Batch* b, std::vector<Addr>* table) {
  bool address_event = false;
  for (auto& m : *msgs) {
    if (m.kind == Message::kNewLink || m.kind == Message::kDelLink) {
      b->links.push_back(std::move(m));
    } else if (!m.dump) {
      address_event = true;
    } else if (m.kind == Message::kNewAddr && table) {
      table->push_back(m.addr);
    }
  }
  return address_event;
}

bool Watcher::DumpAddresses(Batch* b, bool* lost) {
  std::vector<Message> msgs;
  std::vector<Addr> table;
  ParseResult r;
  const bool complete = Dump(RTM_GETADDR, &msgs, &r, lost);
  b->malformed += r.malformed;
  const bool raced = Take(&msgs, b, &table);
  if (*lost) return false;
  b->addresses = std::move(table);
  b->has_addresses = true;
  return complete && !raced;
}

bool Watcher::DumpLinks(Batch* b, bool* lost) {
  b->links.clear();
  std::vector<Message> msgs;
  ParseResult r;
  const bool complete = Dump(RTM_GETLINK, &msgs, &r, lost);
  b->malformed += r.malformed;
  Take(&msgs, b, nullptr);  // address events: the address dump that follows covers them
  return complete && !*lost;
}

void Watcher::Send(Batch* b) {
  inflight_.fetch_add(1, std::memory_order_acq_rel);
  if (!post_(b)) inflight_.fetch_sub(1, std::memory_order_acq_rel);
}

void Watcher::Run() {
  try {
    Loop();
  } catch (const std::exception& e) {
    auto* b = new Batch;
    b->error = std::string("interface watcher stopped: ") + e.what();
    Send(b);
  }
}

bool Watcher::ReadBurst(std::vector<Message>* msgs, ParseResult* r) {
  if (!ReadAll(0, msgs, r)) return false;
  const auto first = std::chrono::steady_clock::now();
  while (!Stopping()) {
    const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - first);
    const int left = kCoalesceMaxMs - static_cast<int>(spent.count());
    if (left <= 0 || !WaitReadable(std::min(kCoalesceMs, left))) break;
    if (!ReadAll(0, msgs, r)) return false;
  }
  return true;
}

void Watcher::Loop() {
  bool need_links = true;       // a full dump: the batch starts from nothing
  bool need_addresses = false;  // the address table is to be dumped again
  int link_tries = 0;
  while (!Stopping()) {
    if (resync_.exchange(false, std::memory_order_acq_rel)) need_links = true;
    if (inflight_.load(std::memory_order_acquire) >= kMaxInflight) {
      WaitReadable(-1);  // woken by Delivered()
      continue;
    }
    std::unique_ptr<Batch> b(new Batch);
    bool lost = false;
    if (need_links) {
      b->reset = true;
      const bool ok = DumpLinks(b.get(), &lost);
      if (lost) continue;  // never a partial table: dump again at once
      // Perpetual churn (every dump interrupted): hand on what we have
      // every kDumpTries, and go on.
      if (!ok && ++link_tries < kDumpTries) continue;
      link_tries = 0;
      need_links = !ok;
      need_addresses = true;
    } else if (!need_addresses) {
      if (!WaitReadable(-1)) continue;
      std::vector<Message> msgs;
      ParseResult r;
      lost = !ReadBurst(&msgs, &r);
      b->malformed = r.malformed;
      need_addresses = Take(&msgs, b.get(), nullptr);
    }
    if (!lost && need_addresses && !Stopping()) need_addresses = !DumpAddresses(b.get(), &lost);
    if (lost) {
      // The kernel dropped events (its socket buffer overran): start again from a dump.
      need_links = true;
      continue;
    }
    if (Stopping()) return;
    if (!b->reset && b->links.empty() && !b->has_addresses && b->malformed == 0) continue;
    Send(b.release());
  }
}
}  // namespace rtnl
}  // namespace netbeacon
