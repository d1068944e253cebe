#include "dns/answer.h"

namespace herald::dns {

std::string_view recordTypeName(RecordType type) {
  switch (type) {
    case RecordType::A:
      return "A";
    case RecordType::AAAA:
      return "AAAA";
    case RecordType::SRV:
      return "SRV";
    case RecordType::NAPTR:
      return "NAPTR";
  }
  return "?";
}

std::string_view statusName(Status status) {
  switch (status) {
    case Status::Ok:
      return "ok";
    case Status::NoRecords:
      return "no records";
    case Status::NxDomain:
      return "nxdomain";
    case Status::Timeout:
      return "timeout";
    case Status::ServFail:
      return "servfail";
    case Status::Refused:
      return "refused";
    case Status::Error:
      return "error";
  }
  return "?";
}

}  // namespace herald::dns
