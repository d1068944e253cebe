#pragma once

// Plain data of the DNS layer: what is asked (Query) and what comes back (Answer), for the four
// record types SIP needs (RFC 3263: NAPTR -> SRV -> A/AAAA).
//
//   dns::Query q{"_sipfederationtls._tcp.b.test", dns::RecordType::SRV};
//   if (answer.status == dns::Status::Ok) { for (auto& r : answer.srv) use(r.target, r.port); }

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/inet.h"

namespace herald::dns {

// The wire values of RFC 1035 §3.2.2, RFC 3596, RFC 2782 and RFC 3403.
enum class RecordType : uint16_t { A = 1, AAAA = 28, SRV = 33, NAPTR = 35 };
std::string_view recordTypeName(RecordType type);

struct Query {
  // An absolute name ("b.test"); case and a final dot do not matter. No search list is applied.
  std::string name;
  RecordType type = RecordType::A;

  bool operator==(const Query& o) const = default;
};

enum class Status {
  Ok,         // NOERROR with records of the asked type
  NoRecords,  // NOERROR/NODATA: the name exists, without records of this type (RFC 2308 §2.2)
  NxDomain,   // the name does not exist (RFC 2308 §2.1)
  Timeout,    // no server answered within Options::timeout x attempts
  ServFail,   // every server answered SERVFAIL
  Refused,    // every server answered REFUSED (or its port was closed: c-ares cannot tell)
  Error,      // anything else (malformed answer, bad name, resolver stopped): see Answer::error
};
std::string_view statusName(Status status);

// RFC 2782.
struct SrvRecord {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;
  uint32_t ttl = 0;  // seconds

  bool operator==(const SrvRecord& o) const = default;
};

// RFC 3403 §4.1.
struct NaptrRecord {
  uint16_t order = 0;
  uint16_t preference = 0;
  std::string flags;    // "s", "a", "u", "p" or ""
  std::string service;  // "SIPS+D2T"
  std::string regexp;
  std::string replacement;  // "_sips._tcp.b.test"; "" for the root (".")
  uint32_t ttl = 0;

  bool operator==(const NaptrRecord& o) const = default;
};

// A or AAAA; the port of `address` is 0.
struct AddressRecord {
  Endpoint address;
  uint32_t ttl = 0;

  bool operator==(const AddressRecord& o) const = default;
};

struct Answer {
  Status status = Status::Error;
  // Filled for Status::Ok, the vector of the query's type (A and AAAA both use `addresses`).
  std::vector<SrvRecord> srv;
  std::vector<NaptrRecord> naptr;
  std::vector<AddressRecord> addresses;
  // Seconds this answer is cached for (for a cached answer: what remains of it); 0: not cached.
  uint32_t ttl = 0;
  bool from_cache = false;
  // The server that answered, when one did (not for Timeout).
  std::optional<Endpoint> server;
  // From resolve() to the callback; 0 for an answer of Resolver::cached().
  Duration elapsed{0};
  // For everything but Ok: what happened, for logs and `route explain`.
  std::string error;

  bool ok() const { return status == Status::Ok; }
};

}  // namespace herald::dns
