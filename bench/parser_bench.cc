// Parser benchmark: Herald against libosip2, same messages, same work, one binary.
//
// The work per message is what a proxy does on every request: find the header boundaries, then
// read the top Via (branch), From (URI host, tag), To (URI host), Call-ID and CSeq (number,
// method). Two messages: a typical 700-byte MESSAGE and a 4 KB NOTIFY with a PIDF body.
// Both parsers start from the same bytes in a const buffer; both copy them (Herald into the
// message's own buffer, libosip2 into its structures).
//
// Prints Google Benchmark's table, then one line per message with the ratio
// libosip2 time / Herald time (higher is better for Herald).

#include <benchmark/benchmark.h>
#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "cpu_time_reporter.h"
#include "sip/parser/message_parser.h"

namespace {

std::string messageRequest() {
  std::string body = "Hi Bob, are you joining the federation review at 3?";
  return "MESSAGE sip:bob@domainb.example SIP/2.0\r\n"
         "Via: SIP/2.0/TLS edge.domaina.example:5061;branch=z9hG4bK3e1d7f6a9c2b4e5f;rport\r\n"
         "Via: SIP/2.0/TLS "
         "192.0.2.15:52311;received=198.51.100.7;branch=z9hG4bK77ab12cd34;rport=52311\r\n"
         "Max-Forwards: 69\r\n"
         "Record-Route: <sip:edge.domaina.example:5061;transport=tls;lr>\r\n"
         "From: \"Alice Liddell\" <sip:alice@domaina.example>;tag=a73kszlfl\r\n"
         "To: \"Bob Marley\" <sip:bob@domainb.example>\r\n"
         "Call-ID: 1j9FpLxk3uxtm8tn@client-17.domaina.example\r\n"
         "CSeq: 4711 MESSAGE\r\n"
         "Contact: "
         "<sip:alice@192.0.2.15:52311;transport=tls>;+sip.instance=\"<urn:uuid:00000000-0000-1000-"
         "8000-000A95A0E128>\"\r\n"
         "User-Agent: Herald-Bench/1.0\r\n"
         "Content-Type: text/plain;charset=UTF-8\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string notifyRequest() {
  std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
      "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"\r\n"
      "    xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\"\r\n"
      "    xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\"\r\n"
      "    xmlns:c=\"urn:ietf:params:xml:ns:pidf:cipid\"\r\n"
      "    entity=\"sip:bob@domainb.example\">\r\n";
  int i = 0;
  while (body.size() < 3400) {
    body += "  <tuple id=\"t" + std::to_string(i) +
            "\">\r\n"
            "    <status><basic>open</basic></status>\r\n"
            "    <contact priority=\"0.8\">sip:bob@192.0.2." +
            std::to_string(20 + i) +
            ":5061;transport=tls</contact>\r\n"
            "    <note xml:lang=\"en\">In the office, available for chat</note>\r\n"
            "    <timestamp>2026-11-25T16:15:36Z</timestamp>\r\n"
            "  </tuple>\r\n"
            "  <dm:person id=\"p" +
            std::to_string(i) +
            "\">\r\n"
            "    <rpid:activities><rpid:meeting/></rpid:activities>\r\n"
            "    <rpid:mood><rpid:happy/></rpid:mood>\r\n"
            "  </dm:person>\r\n";
    ++i;
  }
  body += "</presence>\r\n";
  return "NOTIFY sip:alice@192.0.2.15:52311;transport=tls SIP/2.0\r\n"
         "Via: SIP/2.0/TLS edge.domainb.example:5061;branch=z9hG4bKnashds8a91;rport\r\n"
         "Via: SIP/2.0/TLS pres.domainb.example:5061;branch=z9hG4bK8a8f8c0e02\r\n"
         "Max-Forwards: 69\r\n"
         "Route: <sip:edge.domaina.example:5061;transport=tls;lr>\r\n"
         "From: <sip:bob@domainb.example>;tag=ffd2b82c\r\n"
         "To: <sip:alice@domaina.example>;tag=a73kszlfl\r\n"
         "Call-ID: 7a9f3ce2d3b5@pres.domainb.example\r\n"
         "CSeq: 2 NOTIFY\r\n"
         "Contact: <sip:pres.domainb.example:5061;transport=tls>\r\n"
         "Event: presence\r\n"
         "Subscription-State: active;expires=3599\r\n"
         "Content-Type: application/pidf+xml\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kMessage = messageRequest();
const std::string kNotify = notifyRequest();

// Sum of the bytes read, so that the compiler cannot drop the work.
size_t heraldWork(const std::string& bytes) {
  using namespace herald::sip;
  auto msg = MessageParser::parseDatagram(Buffer::copyOf(bytes));
  if (!msg) std::abort();
  auto via = msg->topVia();
  auto from = msg->from();
  auto to = msg->to();
  auto call_id = msg->callId();
  auto cseq = msg->cseq();
  if (!via || !from || !to || !call_id || !cseq) std::abort();
  return (*via)->branch.size() + (*from)->uri.host.size() + (*from)->tag.size() +
         (*to)->uri.host.size() + call_id->size() + (*cseq)->number + (*cseq)->method_text.size();
}

size_t osipWork(const std::string& bytes) {
  osip_message_t* msg = nullptr;
  osip_message_init(&msg);
  if (osip_message_parse(msg, bytes.data(), bytes.size()) != 0) std::abort();
  osip_via_t* via = nullptr;
  osip_generic_param_t* branch = nullptr;
  osip_generic_param_t* tag = nullptr;
  osip_message_get_via(msg, 0, &via);
  if (via == nullptr || osip_via_param_get_byname(via, const_cast<char*>("branch"), &branch) != 0) {
    std::abort();
  }
  osip_from_t* from = osip_message_get_from(msg);
  osip_to_t* to = osip_message_get_to(msg);
  osip_call_id_t* call_id = osip_message_get_call_id(msg);
  osip_cseq_t* cseq = osip_message_get_cseq(msg);
  if (from == nullptr || to == nullptr || call_id == nullptr || cseq == nullptr) std::abort();
  osip_from_param_get_byname(from, const_cast<char*>("tag"), &tag);
  size_t sum = std::strlen(branch->gvalue) + std::strlen(from->url->host) +
               (tag ? std::strlen(tag->gvalue) : 0) + std::strlen(to->url->host) +
               std::strlen(osip_call_id_get_number(call_id)) +
               static_cast<size_t>(std::atoi(osip_cseq_get_number(cseq))) +
               std::strlen(osip_cseq_get_method(cseq));
  osip_message_free(msg);
  return sum;
}

void BM_Herald_Message700(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(heraldWork(kMessage));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kMessage.size()));
}
void BM_Osip2_Message700(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(osipWork(kMessage));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kMessage.size()));
}
void BM_Herald_Notify4k(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(heraldWork(kNotify));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kNotify.size()));
}
void BM_Osip2_Notify4k(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(osipWork(kNotify));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kNotify.size()));
}
BENCHMARK(BM_Herald_Message700);
BENCHMARK(BM_Osip2_Message700);
BENCHMARK(BM_Herald_Notify4k);
BENCHMARK(BM_Osip2_Notify4k);

void printRatios(const herald::bench::CpuTimeReporter& reporter) {
  for (const char* m : {"Message700", "Notify4k"}) {
    auto h = reporter.cpuTime(std::string("BM_Herald_") + m);
    auto o = reporter.cpuTime(std::string("BM_Osip2_") + m);
    if (!h || !o) continue;
    std::printf("%-10s herald %8.0f ns  libosip2 %8.0f ns  libosip2/herald = %.2fx\n", m, *h, *o,
                *o / *h);
  }
}

}  // namespace

int main(int argc, char** argv) {
  parser_init();
  std::printf("MESSAGE: %zu bytes, NOTIFY: %zu bytes\n", kMessage.size(), kNotify.size());
  benchmark::Initialize(&argc, argv);
  herald::bench::CpuTimeReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  printRatios(reporter);
  benchmark::Shutdown();
  return 0;
}
