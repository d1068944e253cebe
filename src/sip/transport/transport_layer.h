#pragma once

// TransportLayer: SIP over UDP, TCP and TLS (RFC 3261 §18) on N worker threads.
//
// Each worker has its own event loop (an edge-triggered epoll Reactor), its own SO_REUSEPORT
// socket per listener, the connections accepted or opened on it, and a 10 ms tick. A message is
// read, framed, parsed and validated by the worker that owns the socket or connection, and
// handled there while that worker has time; once it is saturated, requests go to the worker
// that hash(Call-ID) names (and that Call-ID keeps going there), so one busy UDP flow or TCP
// connection still uses every core. A response goes to the worker named in its branch
// (TransactionManager::workerOfBranch). Malformed requests are answered (400, 505, 513...) and
// malformed responses dropped here, before any hand-off.
//
//   TransportLayer transport(config, clock);
//   if (auto r = transport.bind(); !r) fail(r.error());
//   for (uint32_t w = 0; w < transport.workers(); ++w) transport.setReceiver(w, &stacks[w]);
//   transport.start();
//   ...
//   transport.stop();
//
// This header keeps the reactor and OpenSSL's SSL objects out of its includers (pimpl).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/inet.h"
#include "common/result.h"
#include "sip/message/sip_message.h"
#include "sip/parser/limits.h"
#include "sip/transaction/transaction_manager.h"
#include "sip/transaction/types.h"
#include "sip/transport/tls_context.h"

namespace herald::sip {

struct ListenerSpec {
  Transport transport = Transport::Udp;
  Endpoint address;  // port 0: any free port (tests)
};

struct TransportConfig {
  std::vector<ListenerSpec> listeners;
  // Default: 0, one per core.
  uint32_t workers = 0;
  ParserLimits limits;
  TlsSettings tls;
  // Default: 3605 s. A stream connection without traffic for this long is closed.
  Duration idle_timeout{3605 * 1000};
  // Default: 5 s. Connect plus TLS handshake for connections Herald opens.
  Duration connect_timeout{5000};
  // Default: 10 s. Time allowed to receive one message on a stream connection: an accepted
  // connection must finish its TLS handshake and deliver a first complete message this long
  // after accept, and a message once begun must be complete this long after its first bytes
  // arrived. Otherwise the connection is closed (checked once a second, so up to 1 s later).
  Duration message_timeout{10 * 1000};
  // Default: 10000. Accepted connections beyond this are closed at once.
  uint32_t max_connections = 10000;
  // Default: 64. Accepted connections from one IP address (any port, every listener) at most;
  // more are closed at once, so that one host cannot take the whole max_connections.
  uint32_t max_connections_per_address = 64;
  // Default: 4 MiB. A peer that lets this much queue up unread is disconnected. A connection's
  // write buffer holds at most about twice this (the written part is dropped as it goes).
  size_t max_write_queue_bytes = 4 * 1024 * 1024;
  // Default: 4 MiB. SO_RCVBUF/SO_SNDBUF of UDP sockets (the kernel caps it at rmem_max).
  int udp_buffer_bytes = 4 * 1024 * 1024;
  // Default: 0.7. A worker busy this share of its time hands requests to the other workers
  // (by Call-ID); below it, everything read on a worker is handled there. 0: always spread.
  double spill_load = 0.7;
  // Default: true. Every datagram of a UDP listener is read by worker 0 (a reuseport BPF
  // program picks its socket), which hands requests on once busy (spill_load). Without it the
  // kernel hashes each flow to a worker, so the responses of a next hop land on another
  // worker than the requests that caused them, and every response crosses workers.
  bool udp_single_reader = true;
  // Default: true. Worker threads run under SCHED_BATCH: a worker woken by a datagram does not
  // preempt the thread running on its core (often the peer that sent it), so it runs a little
  // later and reads what arrived meanwhile in the same turn. On the relay benchmark this nearly
  // halved the context switches and took a third off the CPU per MESSAGE over UDP, a fifth
  // over TCP (docs/performance.md).
  // false: SCHED_OTHER, for hosts where a CPU-bound neighbour must not delay SIP by a tick.
  bool batch_scheduling = true;
};

// Per-worker receiver of what the transport delivers. Every call runs on that worker.
class TransportReceiver {
 public:
  virtual ~TransportReceiver() = default;
  // A valid request or response that belongs to this worker.
  virtual void onMessage(std::unique_ptr<SipMessage> msg, const Origin& origin) = 0;
  // A send made for transaction `tx` on this worker failed.
  virtual void onTransportError(TxId tx) = 0;
  // Every 10 ms while the receiver is not idle().
  virtual void onTick(TimePoint now) = 0;
  // Nothing waits on a timer (no transaction, no retired record): the worker stops ticking
  // until the next message or task, so that an idle worker does not wake 100 times a second.
  virtual bool idle() const { return false; }
};

class TransportLayer {
 public:
  struct Stats {
    uint64_t received = 0;
    uint64_t sent = 0;
    uint64_t parse_errors = 0;
    uint64_t handoffs = 0;
    uint64_t connections_open = 0;
    // Memory held by stream connections' write buffers now (allocated, written or not).
    uint64_t write_buffer_bytes = 0;
    uint64_t connections_rejected = 0;
    uint64_t message_timeouts = 0;  // stream connections closed by message_timeout
    uint64_t connections_rejected_per_address = 0;  // over max_connections_per_address
    uint64_t keepalive_pings = 0;
    uint64_t send_failures = 0;
  };

  TransportLayer(TransportConfig config, const Clock& clock);
  ~TransportLayer();
  TransportLayer(const TransportLayer&) = delete;
  TransportLayer& operator=(const TransportLayer&) = delete;

  // Opens every listener on every worker. Fails if a port is in use or TLS cannot load.
  [[nodiscard]] Result<void> bind();
  // REQUIRES: before start().
  void setReceiver(uint32_t worker, TransportReceiver* receiver);
  void start();
  // Closes sockets and connections, joins the workers. Safe to call twice.
  void stop();

  uint32_t workers() const;
  // Listeners as bound (port 0 replaced by the real port).
  std::vector<ListenerSpec> boundListeners() const;

  // Run time, from a thread that is not a worker (the admin plane), after start().
  // Closes every listener and the connections accepted on them, on every worker; returns
  // when no port is open. Outbound connections stay.
  void closeListeners();
  // Binds the listeners of bind() again, on the same ports. On failure (a port taken in the
  // meantime) they stay closed and the error names the listener.
  [[nodiscard]] Result<void> reopenListeners();
  bool listening() const;
  // Any thread: the idle timeout and connection cap of TransportConfig, from now on.
  void setConnectionLimits(Duration idle_timeout, uint32_t max_connections);
  // The listener to name in Via / Record-Route for a transport and address family.
  std::optional<ListenerSpec> listenerFor(Transport t, Endpoint::Family family) const;

  // Sends bytes. REQUIRES: called on a worker thread (the stack's); a failure is reported to
  // that worker's receiver as onTransportError(tx) (tx 0: not reported).
  void send(const SendTarget& to, const SharedBytes& bytes, TxId tx);
  // Runs f on worker w. Any thread.
  void post(uint32_t worker, std::function<void()> f);
  // The worker running the caller, or -1 outside workers.
  static int currentWorker();
  // The scheduling policy worker w runs under (SCHED_BATCH or SCHED_OTHER). After start().
  int schedulingPolicy(uint32_t worker) const;

  // Counters summed over workers (approximate while running).
  Stats stats() const;

  class Impl;  // implementation detail (transport_layer.cc)

 private:
  std::unique_ptr<Impl> impl_;
};

// Adapts TransportLayer::send to the transaction layer's MessageSender.
class TransportSender final : public MessageSender {
 public:
  explicit TransportSender(TransportLayer& t) : transport_(t) {}
  void send(const SendTarget& to, const SharedBytes& bytes, TxId tx) override {
    transport_.send(to, bytes, tx);
  }

 private:
  TransportLayer& transport_;
};

// Which worker owns a message: hash(Call-ID) for requests; for responses the worker named in
// our branch (else the Call-ID hash).
uint32_t owningWorker(const SipMessage& msg, uint32_t workers);

}  // namespace herald::sip
