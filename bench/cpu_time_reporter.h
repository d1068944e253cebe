// A console reporter that also keeps each benchmark's CPU time, so that a benchmark binary
// can print the ratios its issue names after Google Benchmark's table.

#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace herald::bench {

class CpuTimeReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      // With repetitions, the median stands for the benchmark; otherwise the single run.
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") {
        ns_[key(r)] = r.GetAdjustedCPUTime();
        medians_ = true;
      } else if (r.run_type == Run::RT_Iteration && !medians_) {
        ns_[key(r)] = r.GetAdjustedCPUTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // CPU time per iteration of `name` ("BM_X", or "BM_X/1000" for an argument), in the
  // benchmark's time unit; nullopt when it did not run (filtered out).
  std::optional<double> cpuTime(const std::string& name) const {
    auto it = ns_.find(name);
    if (it == ns_.end()) return std::nullopt;
    return it->second;
  }

 private:
  static std::string key(const Run& r) {
    const auto& n = r.run_name;
    return n.args.empty() ? n.function_name : n.function_name + "/" + n.args;
  }

  std::map<std::string, double> ns_;
  bool medians_ = false;
};

}  // namespace herald::bench
