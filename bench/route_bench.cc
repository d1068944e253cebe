// Static route lookup benchmark (issue 14): RouteTable::lookup with 1,000 and with 100,000
// domain routes, 10,000 names looked up in a seeded random order. Lookup must not grow with
// the number of routes: the two figures must be within 2x of each other.
//
// Routes: `.<tld>.dom<i>.*` (the seed's federation form) for most domains, `.<tld>.dom<i>.`
// (exact) for every fifth, a second, lower-priority route for every tenth, a few embedded
// wildcard patterns (matched one by one), and the predefined `.*` route, blocked. Names:
// 60% a host below a routed domain (`sip.dom<i>.<tld>`), 30% a routed domain itself, 10% a
// domain no route names (only `.*` matches).
//
// Prints Google Benchmark's table, then ns per lookup for each size and their ratio.

#include <benchmark/benchmark.h>

#include <array>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cpu_time_reporter.h"
#include "federation/route_table.h"

namespace {

using herald::fed::LookupResult;
using herald::fed::RouteProtocol;
using herald::fed::RouteTable;
using herald::fed::RouteType;
using herald::fed::StaticRoute;

constexpr std::array<const char*, 8> kTlds = {"com", "net", "org", "test", "example", "jp",
                                              "de", "io"};
constexpr int kNames = 10000;
constexpr int kEmbeddedWildcards = 8;

// Fixed-width numbers, so that both table sizes look up names of the same lengths.
std::string domainName(int i) {
  char number[16];
  std::snprintf(number, sizeof number, "%06d", i);
  return "dom" + std::string(number) + "." + kTlds[static_cast<size_t>(i) % kTlds.size()];
}

RouteTable makeTable(int routes) {
  std::vector<StaticRoute> all;
  int64_t id = 1;
  for (int i = 0; all.size() < static_cast<size_t>(routes); ++i) {
    StaticRoute r;
    r.id = id++;
    r.type = RouteType::Domain;
    r.pattern = (i % 5 == 0 ? "" : "*.") + domainName(i);
    r.next_hop = "edge." + domainName(i);
    r.port = 5061;
    r.protocol = RouteProtocol::TLS;
    all.push_back(r);
    if (i % 10 == 0 && all.size() < static_cast<size_t>(routes)) {
      r.id = id++;
      r.next_hop = "backup." + domainName(i);
      r.priority = 2;
      all.push_back(r);
    }
  }
  for (int i = 0; i < kEmbeddedWildcards; ++i) {
    StaticRoute r;
    r.id = id++;
    r.type = RouteType::Domain;
    r.pattern = "edge" + std::to_string(i) + "*." + domainName(1);
    r.next_hop = "gw.test";
    all.push_back(r);
  }
  StaticRoute open = herald::fed::openFederationRoute();
  open.id = id++;
  open.in_service = true;
  all.push_back(open);
  auto table = RouteTable::build(std::move(all));
  if (!table) {
    std::fprintf(stderr, "route_bench: %s\n", table.error().detail.c_str());
    std::abort();
  }
  return std::move(*table);
}

std::vector<std::string> makeNames(int routes) {
  // Domains with a route: the loop in makeTable gives one per index, minus the backups.
  int domains = routes * 10 / 11;
  std::mt19937_64 rng(1207);
  std::uniform_int_distribution<int> pick(0, domains - 1);
  std::uniform_int_distribution<int> kind(0, 9);
  std::vector<std::string> names;
  names.reserve(kNames);
  for (int n = 0; n < kNames; ++n) {
    int k = kind(rng);
    int i = pick(rng);
    if (k < 6) {
      names.push_back("sip." + domainName(i));
    } else if (k < 9) {
      names.push_back(domainName(i));
    } else {
      names.push_back("host" + domainName(i) + ".unrouted.example");
    }
  }
  return names;
}

void BM_RouteLookup(benchmark::State& state) {
  const int routes = static_cast<int>(state.range(0));
  const RouteTable table = makeTable(routes);
  const std::vector<std::string> names = makeNames(routes);
  size_t next = 0;
  size_t matched = 0;
  for (auto _ : state) {
    LookupResult r = table.lookup(names[next], "bob");
    matched += r.usable;
    benchmark::DoNotOptimize(r);
    next = next + 1 == names.size() ? 0 : next + 1;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["groups"] = static_cast<double>(table.groupCount());
  state.counters["usable/lookup"] =
      static_cast<double>(matched) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_RouteLookup)->Arg(1000)->Arg(100000);

void printRatio(const herald::bench::CpuTimeReporter& reporter) {
  auto small = reporter.cpuTime("BM_RouteLookup/1000");
  auto large = reporter.cpuTime("BM_RouteLookup/100000");
  if (!small || !large) {
    return;
  }
  double ratio = *large / *small;
  std::printf("lookup: 1,000 routes %.0f ns, 100,000 routes %.0f ns, ratio %.2fx (%s 2x)\n", *small,
              *large, ratio, ratio <= 2.0 ? "within" : "NOT within");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  herald::bench::CpuTimeReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  printRatio(reporter);
  benchmark::Shutdown();
  return 0;
}
