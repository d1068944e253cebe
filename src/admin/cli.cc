#include "admin/cli.h"

#include <fcntl.h>
#include <httplib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "admin/internal/percent.h"

namespace herald::admin {

using nlohmann::json;

struct AdminCli::Options {
  // Common to the API commands.
  std::string url;
  bool json = false;
  std::string ca_file;
  // Names and values.
  std::string name;
  std::string value;
  std::string user;
  std::string password;
  bool password_stdin = false;
  std::string description;
  std::string display_name;
  std::string filter;
  std::string domain;
  std::string scope;
  std::string type;
  int limit = 0;
  std::string config;
  // federated-domain: the members given, by API field name ("integration", ...).
  std::map<std::string, std::string> federated;
  bool direct_federation = false;
  std::map<std::string, std::map<std::string, CLI::Option*>> federated_opts;  // [verb][field]
  // The command chosen.
  std::string group;  // "login", "domain", ...
  std::string verb;   // "list", "add", ...
  // Options whose presence matters (an empty value is a value).
  std::vector<CLI::Option*> url_opts;
  std::vector<CLI::Option*> password_opts;
  std::vector<CLI::Option*> display_name_opts;
  std::vector<CLI::Option*> user_opts;
  CLI::Option* config_opt = nullptr;
  std::vector<CLI::App*> leaves;
  CLI::App* user_group = nullptr;
};

namespace {

constexpr const char* kDefaultUrl = "http://127.0.0.1:8080";

bool anyCount(const std::vector<CLI::Option*>& opts) {
  return std::any_of(opts.begin(), opts.end(), [](CLI::Option* o) { return o->count() > 0; });
}

// ---------------------------------------------------------------------------------------------
// Text

// A query value: everything but unreserved characters escaped.
std::string encode(std::string_view s) { return detail::percentEncode(s, ""); }

// A path segment; '@' stays, as in the API's own Location headers.
std::string segment(std::string_view s) { return detail::percentEncode(s, "@"); }

// Text from the node, made safe for a terminal: control characters (escape sequences) become
// '?'.
std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  return out;
}

// A JSON value as a table cell: strings as they are, booleans yes/no, null empty.
std::string cell(const json& v) {
  if (v.is_string()) return printable(v.get<std::string>());
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_null()) return "";
  return printable(v.dump());
}

std::string field(const json& item, const char* key) {
  auto it = item.find(key);
  return it == item.end() ? "" : cell(*it);
}

// The "item" of an answer, or an empty object.
const json& itemOf(const json& answer) {
  static const json kEmpty = json::object();
  if (!answer.is_object()) return kEmpty;
  auto it = answer.find("item");
  return it != answer.end() && it->is_object() ? *it : kEmpty;
}

// Display width: UTF-8 code points.
size_t width(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void printTable(std::ostream& out, const std::vector<std::string>& head,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(head.size());
  for (size_t i = 0; i < head.size(); ++i) widths[i] = width(head[i]);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], width(row[i]));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text += std::string(widths[i] - width(cells[i]) + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << "\n";
  };
  line(head);
  for (const auto& row : rows) line(row);
}

// "key: value" lines, `order` first, then the other keys alphabetically.
void printItem(std::ostream& out, const json& item, const std::vector<std::string>& order) {
  std::vector<std::pair<std::string, std::string>> lines;
  for (const std::string& k : order) {
    if (item.contains(k)) lines.emplace_back(k, cell(item[k]));
  }
  for (const auto& [k, v] : item.items()) {
    if (std::find(order.begin(), order.end(), k) == order.end()) {
      lines.emplace_back(printable(k), cell(v));
    }
  }
  size_t w = 0;
  for (const auto& l : lines) w = std::max(w, width(l.first));
  for (const auto& [k, v] : lines) {
    out << k << ":" << std::string(w - width(k) + 1, ' ') << v << "\n";
  }
}

std::string listeners(const json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const json& l : list) {
    if (!out.empty()) out += ", ";
    std::string address = l.value("address", "");
    if (address.find(':') != std::string::npos) address = "[" + address + "]";
    out += l.value("transport", "") + " " + address + ":" + std::to_string(l.value("port", 0));
  }
  return printable(out);
}

// A parameter's value with its unit: "500 ms".
std::string paramValue(const json& p, const char* key) {
  if (!p.contains(key)) return "";
  std::string v = field(p, key);
  if (p.contains("unit") && p[key].is_number()) v += " " + p["unit"].get<std::string>();
  if (p[key].is_string() && p[key].get<std::string>().empty()) v = "\"\"";
  return v;
}

// ---------------------------------------------------------------------------------------------
// The token file

struct Saved {
  std::string url;
  std::string token;  // "" after logout
  std::string username;
  std::string expires_at;
  // The node's device token for `username` (docs/admin-api.md, Authentication): sent with the
  // next login there, kept across logout.
  std::string device_token;
};

std::optional<std::filesystem::path> tokenPath(const CliIo& io) {
  if (auto xdg = io.getenv("XDG_RUNTIME_DIR"); xdg && !xdg->empty()) {
    return std::filesystem::path(*xdg) / "herald" / "token";
  }
  if (auto home = io.getenv("HOME"); home && !home->empty()) {
    return std::filesystem::path(*home) / ".config" / "herald" / "token";
  }
  return std::nullopt;
}

std::optional<Saved> loadToken(const CliIo& io) {
  auto path = tokenPath(io);
  if (!path) return std::nullopt;
  std::ifstream in(*path);
  if (!in) return std::nullopt;
  json j = json::parse(in, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto text = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  return Saved{text("url"), text("token"), text("username"), text("expires_at"),
               text("device_token")};
}

// Writes the token file (directory 0700, file 0600, replaced atomically). "" or an error.
std::string saveToken(const CliIo& io, const Saved& s, std::filesystem::path* where) {
  auto path = tokenPath(io);
  if (!path) return "neither XDG_RUNTIME_DIR nor HOME is set";
  std::error_code ec;
  std::filesystem::create_directories(path->parent_path(), ec);
  if (ec) return "cannot create " + path->parent_path().string() + ": " + ec.message();
  chmod(path->parent_path().c_str(), 0700);
  std::string tmp = path->string() + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write " + tmp + ": " + std::strerror(errno);
  fchmod(fd, 0600);
  std::string text = json{{"url", s.url},
                          {"token", s.token},
                          {"username", s.username},
                          {"expires_at", s.expires_at},
                          {"device_token", s.device_token}}
                         .dump() +
                     "\n";
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = close(fd) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path->c_str()) != 0) {
    std::remove(tmp.c_str());
    return "cannot write " + path->string();
  }
  *where = *path;
  return "";
}

// "http://host:port" without a trailing '/'; nullopt when it is not such a URL.
std::optional<std::string> normalizeUrl(std::string url) {
  static const std::regex kUrl(R"(^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?/?$)");
  if (!std::regex_match(url, kUrl)) return std::nullopt;
  if (url.back() == '/') url.pop_back();
  return url;
}

// ---------------------------------------------------------------------------------------------
// Calls

struct Reply {
  int status = 0;
  std::string body;
  json json_body;  // discarded when the body is not JSON
  httplib::Headers headers;
};

class Runner {
 public:
  Runner(const AdminCli::Options& o, const CliIo& io) : o_(o), io_(io) {}

  int run(const OfflineUserRunner& offline) {
    if (o_.group == "user" && o_.config_opt->count() > 0) return runOffline(offline);
    if (o_.group == "login") return login();
    if (int rc = connect(); rc != kExitOk) return rc;
    if (o_.group == "logout") return logout();
    if (o_.group == "domain") return domain();
    if (o_.group == "federated-domain") return federatedDomain();
    if (o_.group == "user") return user();
    if (o_.group == "param") return param();
    if (o_.group == "service") return service();
    if (o_.group == "status") return status();
    if (o_.group == "audit") return audit();
    return usage("no command given");
  }

 private:
  std::ostream& out() const { return *io_.out; }
  std::ostream& err() const { return *io_.err; }

  int usage(const std::string& message) const {
    err() << "herald: " << message << "\n";
    return kExitUsage;
  }

  // --url, else HERALD_URL, else the last login's URL, else the default.
  std::optional<std::string> url(const std::optional<Saved>& saved) const {
    std::string u = kDefaultUrl;
    if (anyCount(o_.url_opts)) {
      u = o_.url;
    } else if (auto env = io_.getenv("HERALD_URL"); env && !env->empty()) {
      u = *env;
    } else if (saved && !saved->url.empty()) {
      u = saved->url;
    }
    return normalizeUrl(u);
  }

  // Picks the URL and the token for an API command.
  int connect() {
    std::optional<Saved> saved = loadToken(io_);
    auto u = url(saved);
    if (!u) return usage("not an http:// or https:// URL of a node: '" + o_.url + "'");
    url_ = *u;
    if (auto env = io_.getenv("HERALD_TOKEN"); env && !env->empty()) {
      token_ = *env;
    } else if (saved && normalizeUrl(saved->url) == url_) {
      // A token goes only to the node that issued it.
      token_ = saved->token;
    }
    if (token_.empty()) {
      err() << "herald: not signed in to " << url_ << "; run 'herald login --url " << url_
            << "' (or set HERALD_TOKEN)\n";
      return kExitUnreachable;
    }
    return kExitOk;
  }

  // One request. nullopt when the node cannot be reached (reported).
  std::optional<Reply> call(const std::string& method, const std::string& path,
                            const std::optional<json>& body = std::nullopt,
                            httplib::Headers headers = {}) {
    httplib::Client client(url_);
    client.set_url_encode(false);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(60, 0);
    client.set_write_timeout(10, 0);
    if (!o_.ca_file.empty()) client.set_ca_cert_path(o_.ca_file.c_str());
    client.enable_server_certificate_verification(true);
    if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
    headers.emplace("Accept", "application/json");
    const std::string full = "/api/v1" + path;
    const std::string text = body ? body->dump() : "";
    const char* type = "application/json";
    httplib::Result r = method == "GET"      ? client.Get(full.c_str(), headers)
                        : method == "DELETE" ? client.Delete(full.c_str(), headers)
                        : method == "PATCH"  ? client.Patch(full.c_str(), headers, text, type)
                        : method == "PUT"    ? client.Put(full.c_str(), headers, text, type)
                        : body               ? client.Post(full.c_str(), headers, text, type)
                                             : client.Post(full.c_str(), headers);
    if (!r) {
      err() << "herald: cannot reach " << url_ << ": " << httplib::to_string(r.error()) << "\n";
      return std::nullopt;
    }
    Reply reply;
    reply.status = r->status;
    reply.body = r->body;
    reply.headers = r->headers;
    reply.json_body = json::parse(r->body, nullptr, false);
    return reply;
  }

  // Prints an error answer; returns its exit status (3 for 401, else 1).
  int refused(const Reply& r) const {
    std::string message = "the node answered HTTP " + std::to_string(r.status);
    if (r.json_body.is_object() && r.json_body.contains("error") &&
        r.json_body["error"].is_object()) {
      message = printable(r.json_body["error"].value("message", message));
    }
    if (o_.json && !r.body.empty()) out() << r.body << "\n";
    err() << "herald: " << message << "\n";
    if (r.status == 429 && r.headers.count("Retry-After")) {
      err() << "herald: try again in " << printable(r.headers.find("Retry-After")->second)
            << " s\n";
    }
    if (r.status == 401 && o_.group != "login") {
      err() << "herald: sign in again with 'herald login --url " << url_ << "'\n";
      return kExitUnreachable;
    }
    return kExitRefused;
  }

  // Runs a call; on success prints the JSON (--json) or calls `show`.
  int request(const std::string& method, const std::string& path, const std::optional<json>& body,
              const std::function<void(const json&)>& show, httplib::Headers headers = {}) {
    auto r = call(method, path, body, std::move(headers));
    if (!r) return kExitUnreachable;
    if (r->status >= 300) return refused(*r);
    if (o_.json) {
      if (!r->body.empty()) out() << r->body << "\n";
    } else if (show) {
      if (!r->json_body.is_object()) {
        err() << "herald: the answer of " << url_ << " is not the API's JSON\n";
        return kExitRefused;
      }
      show(r->json_body);
    }
    return kExitOk;
  }

  // A list: a table of `columns`, and a note when the answer holds fewer than `total`.
  int list(const std::string& path, const std::vector<std::string>& head,
           const std::function<std::vector<std::string>(const json&)>& columns,
           const std::string& none) {
    return request("GET", path, std::nullopt, [&](const json& j) {
      const json& items = j.contains("items") ? j["items"] : json::array();
      if (items.empty()) {
        out() << none << "\n";
        return;
      }
      std::vector<std::vector<std::string>> rows;
      for (const json& item : items) rows.push_back(columns(item));
      printTable(out(), head, rows);
      int64_t total = j.value("total", static_cast<int64_t>(items.size()));
      if (total > static_cast<int64_t>(items.size())) {
        out() << "(" << items.size() << " of " << total << " shown)\n";
      }
    });
  }

  std::string query(const std::vector<std::pair<std::string, std::string>>& params) const {
    std::string q;
    for (const auto& [k, v] : params) {
      if (v.empty()) continue;
      q += (q.empty() ? "?" : "&") + k + "=" + encode(v);
    }
    return q;
  }

  // The password: --password, --password-stdin, or asked twice on the terminal.
  std::optional<std::string> password(const std::string& whose) const {
    if (anyCount(o_.password_opts)) return o_.password;
    if (o_.password_stdin) {
      std::string line;
      if (!std::getline(*io_.in, line)) return std::nullopt;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (!io_.ask) return std::nullopt;
    auto first = io_.ask("Password for " + whose + ": ", true);
    if (!first || o_.group == "login") return first;
    auto again = io_.ask("Again: ", true);
    if (!again || *again != *first) {
      err() << "herald: the two passwords differ\n";
      return std::nullopt;
    }
    return first;
  }

  int noPassword() const {
    return usage(
        "no password: give --password-stdin (or --password) when there is no terminal to ask on");
  }

  // "alice@example.org" -> {"alice", "example.org"}.
  static std::optional<std::pair<std::string, std::string>> splitAddress(const std::string& a) {
    size_t at = a.rfind('@');
    if (at == std::string::npos || at == 0 || at + 1 == a.size()) return std::nullopt;
    return std::pair{a.substr(0, at), a.substr(at + 1)};
  }

  // GET, then `method` with If-Match of the version read.
  int edit(const std::string& path, const json& body, const std::string& what) {
    auto current = call("GET", path);
    if (!current) return kExitUnreachable;
    if (current->status >= 300) return refused(*current);
    std::string etag = "\"" + std::to_string(itemOf(current->json_body).value("version", 0)) + "\"";
    return request("PATCH", path, body,
                   [&](const json& j) {
                     out() << "updated " << what << " (version " << itemOf(j).value("version", 0)
                           << ", policy version " << j.value("policy_version", 0) << ")\n";
                   },
                   {{"If-Match", etag}});
  }

  std::string changed(const json& j) const {
    return " (policy version " + std::to_string(j.value("policy_version", int64_t{0})) + ")";
  }

  // -------------------------------------------------------------------------------------------

  int login() {
    const bool interactive = !anyCount(o_.password_opts) && !o_.password_stdin && io_.ask;
    std::optional<Saved> saved = loadToken(io_);
    std::optional<std::string> u;
    bool url_given = anyCount(o_.url_opts) || io_.getenv("HERALD_URL").has_value();
    if (!url_given && interactive) {
      std::string fallback = saved && !saved->url.empty() ? saved->url : kDefaultUrl;
      auto answer = io_.ask("Node URL [" + fallback + "]: ", false);
      if (!answer) return noPassword();
      u = normalizeUrl(answer->empty() ? fallback : *answer);
      if (!u) return usage("not an http:// or https:// URL of a node: '" + *answer + "'");
    } else {
      u = url(saved);
      if (!u) return usage("not an http:// or https:// URL of a node: '" + o_.url + "'");
    }
    url_ = *u;
    std::string username = o_.user;
    if (!anyCount(o_.user_opts)) {
      username = "admin";
      if (interactive) {
        auto answer = io_.ask("User [admin]: ", false);
        if (!answer) return noPassword();
        if (!answer->empty()) username = *answer;
      }
    }
    auto pw = password(username);
    if (!pw) return noPassword();
    json body{{"username", username}, {"password", *pw}};
    if (saved && !saved->device_token.empty() && saved->username == username &&
        normalizeUrl(saved->url) == url_) {
      body["device_token"] = saved->device_token;
    }
    auto r = call("POST", "/login", body);
    if (!r) return kExitUnreachable;
    if (r->status != 200) return refused(*r);
    Saved s{url_, r->json_body.value("token", ""), r->json_body.value("username", username),
            r->json_body.value("expires_at", ""), r->json_body.value("device_token", "")};
    std::filesystem::path where;
    if (std::string e = saveToken(io_, s, &where); !e.empty()) {
      err() << "herald: signed in, but " << e << "\n";
      return kExitRefused;
    }
    if (o_.json) {
      out() << r->body << "\n";
    } else {
      out() << "signed in to " << url_ << " as " << printable(s.username) << "; token in "
            << where.string() << " (idle expiry " << printable(s.expires_at) << ")\n";
    }
    return kExitOk;
  }

  int logout() {
    auto r = call("POST", "/logout");
    if (!r) return kExitUnreachable;
    auto saved = loadToken(io_);
    if (saved && normalizeUrl(saved->url) == url_) {
      // The session goes; the device token stays for the next login.
      saved->token.clear();
      saved->expires_at.clear();
      std::filesystem::path where;
      if (saved->device_token.empty() || !saveToken(io_, *saved, &where).empty()) {
        if (auto path = tokenPath(io_)) std::filesystem::remove(*path);
      }
    }
    if (r->status != 204) return refused(*r);
    if (!o_.json) out() << "signed out of " << url_ << "\n";
    return kExitOk;
  }

  int domain() {
    const std::string path = "/domains/" + segment(o_.name);
    if (o_.verb == "list") {
      return list(
          "/domains" + query({{"limit", "1000"}, {"q", o_.filter}}),
          {"NAME", "USERS", "DESCRIPTION"},
          [](const json& d) {
            return std::vector<std::string>{field(d, "name"), field(d, "user_count"),
                                            field(d, "description")};
          },
          "no domains");
    }
    if (o_.verb == "add") {
      json body{{"name", o_.name}};
      if (!o_.description.empty()) body["description"] = o_.description;
      return request("POST", "/domains", body, [&](const json& j) {
        out() << "added domain " << field(itemOf(j), "name") << changed(j) << "\n";
      });
    }
    if (o_.verb == "show") {
      return request("GET", path, std::nullopt, [&](const json& j) {
        printItem(out(), itemOf(j),
                  {"name", "description", "user_count", "created_at", "updated_at", "version"});
      });
    }
    if (o_.verb == "edit") {
      return edit(path, json{{"description", o_.description}}, "domain " + printable(o_.name));
    }
    return request("DELETE", path, std::nullopt, [&](const json& j) {
      out() << "deleted domain " << field(itemOf(j), "name") << changed(j) << "\n";
    });
  }

  // The federated-domain members given on the command line.
  json federatedMembers() const {
    json body = json::object();
    for (const auto& [field, opt] : o_.federated_opts.at(o_.verb)) {
      if (opt->count() == 0) continue;
      if (field == "direct_federation") {
        body[field] = o_.direct_federation;
      } else {
        body[field] = o_.federated.at(field);
      }
    }
    return body;
  }

  int federatedDomain() {
    const std::string path = "/federated-domains/" + segment(o_.name);
    if (o_.verb == "list") {
      return list(
          "/federated-domains" + query({{"limit", "1000"}, {"q", o_.filter}}),
          {"NAME", "INTEGRATION", "DIRECT", "IDENTITY", "DISCOVERY", "DESCRIPTION"},
          [](const json& d) {
            std::string integration = field(d, "integration");
            if (!field(d, "via_domain").empty()) integration += " via " + field(d, "via_domain");
            if (d.value("discovered", false)) integration += " (discovered)";
            return std::vector<std::string>{field(d, "name"),
                                            integration,
                                            d.value("direct_federation", false) ? "yes" : "no",
                                            field(d, "identity_policy"),
                                            field(d, "discovery"),
                                            field(d, "description")};
          },
          "no federated domains");
    }
    if (o_.verb == "add") {
      json body = federatedMembers();
      body["name"] = o_.name;
      return request("POST", "/federated-domains", body, [&](const json& j) {
        out() << "added federated domain " << field(itemOf(j), "name") << " ("
              << field(itemOf(j), "integration") << ")" << changed(j) << "\n";
      });
    }
    if (o_.verb == "show") {
      return request("GET", path, std::nullopt, [&](const json& j) {
        printItem(out(), itemOf(j),
                  {"name", "description", "integration", "direct_federation", "identity_policy",
                   "discovery", "via_domain", "discovered", "incoming_acl", "created_at",
                   "updated_at", "version"});
      });
    }
    if (o_.verb == "update") {
      json body = federatedMembers();
      if (body.empty()) return usage("nothing to change: give at least one option");
      return edit(path, body, "federated domain " + printable(o_.name));
    }
    return request("DELETE", path, std::nullopt, [&](const json& j) {
      out() << "deleted federated domain " << field(itemOf(j), "name") << changed(j) << "\n";
    });
  }

  int user() {
    const std::string path = "/users/" + segment(o_.name);
    if (o_.verb == "list") {
      return list(
          "/users" + query({{"limit", "1000"}, {"domain", o_.domain}, {"q", o_.filter}}),
          {"ADDRESS", "DISPLAY NAME", "CONTACTS"},
          [](const json& u) {
            return std::vector<std::string>{field(u, "address"), field(u, "display_name"),
                                            field(u, "registered_contacts")};
          },
          "no users");
    }
    if (o_.verb == "show") {
      return request("GET", path, std::nullopt, [&](const json& j) {
        printItem(out(), itemOf(j),
                  {"address", "username", "domain", "display_name", "registered_contacts",
                   "created_at", "updated_at", "version"});
      });
    }
    if (o_.verb == "edit") {
      return edit(path, json{{"display_name", o_.display_name}}, "user " + printable(o_.name));
    }
    if (o_.verb == "delete") {
      return request("DELETE", path, std::nullopt, [&](const json& j) {
        out() << "deleted user " << field(itemOf(j), "address") << changed(j) << "\n";
      });
    }
    auto parts = splitAddress(o_.name);
    if (!parts) return usage("expected USER@DOMAIN, got '" + printable(o_.name) + "'");
    auto pw = password(o_.name);
    if (!pw) return noPassword();
    if (o_.verb == "passwd") {
      return request("PUT", path + "/password", json{{"password", *pw}}, [&](const json& j) {
        out() << "password changed for " << field(itemOf(j), "address") << changed(j) << "\n";
      });
    }
    json body{{"username", parts->first}, {"domain", parts->second}, {"password", *pw}};
    if (anyCount(o_.display_name_opts)) body["display_name"] = o_.display_name;
    return request("POST", "/users", body, [&](const json& j) {
      out() << "added user " << field(itemOf(j), "address") << changed(j) << "\n";
    });
  }

  int param() {
    const std::string path = "/params/" + segment(o_.name);
    if (o_.verb == "list") {
      return list(
          "/params" + query({{"limit", "1000"}, {"scope", o_.scope}}),
          {"NAME", "SCOPE", "VALUE", "DEFAULT"},
          [](const json& p) {
            std::string value = paramValue(p, "value");
            if (!p.value("is_default", true)) value += " *";
            return std::vector<std::string>{field(p, "name"), field(p, "scope"), value,
                                            paramValue(p, "default")};
          },
          "no parameters");
    }
    if (o_.verb == "show") {
      return request("GET", path, std::nullopt, [&](const json& j) {
        printItem(out(), itemOf(j),
                  {"name", "scope", "node", "type", "value", "default", "is_default", "unit", "min",
                   "max", "allowed", "empty_allowed", "config_key", "restart_required",
                   "description", "updated_at", "version"});
      });
    }
    auto show = [&](const char* what) {
      return [this, what](const json& j) {
        out() << field(itemOf(j), "name") << " " << what << " " << paramValue(itemOf(j), "value")
              << changed(j) << "\n";
      };
    };
    if (o_.verb == "reset") return request("DELETE", path, std::nullopt, show("reset to"));
    // set: the VALUE is read as the parameter's type says.
    auto current = call("GET", path);
    if (!current) return kExitUnreachable;
    if (current->status >= 300) return refused(*current);
    std::string type = itemOf(current->json_body).value("type", "string");
    json value = o_.value;
    if (type == "bool") {
      if (o_.value != "true" && o_.value != "false") {
        return usage(printable(o_.name) + " takes true or false");
      }
      value = o_.value == "true";
    } else if (type == "integer") {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(o_.value.data(), o_.value.data() + o_.value.size(), n);
      if (ec != std::errc() || end != o_.value.data() + o_.value.size()) {
        return usage(printable(o_.name) + " takes an integer");
      }
      value = n;
    }
    return request("PUT", path, json{{"value", value}}, show("="));
  }

  int service() {
    if (o_.verb == "list") {
      return list(
          "/services", {"NAME", "ACTIVATED", "STATE", "SINCE", "LISTENERS"},
          [](const json& s) {
            return std::vector<std::string>{field(s, "name"), field(s, "activated"),
                                            field(s, "state"), field(s, "since"),
                                            listeners(s.value("listeners", json()))};
          },
          "no services");
    }
    return request("POST", "/services/" + segment(o_.name) + "/" + o_.verb, std::nullopt,
                   [&](const json& j) {
                     const json& s = itemOf(j);
                     out() << field(s, "name") << ": " << field(s, "state")
                           << (s.value("activated", false) ? ", activated" : ", deactivated");
                     std::string l = listeners(s.value("listeners", json()));
                     if (!l.empty()) out() << " (" << l << ")";
                     out() << changed(j) << "\n";
                   });
  }

  int status() {
    return request("GET", "/status", std::nullopt, [&](const json& s) {
      json summary = {{"node", s.value("node", "")},
                      {"version", s.value("version", "")},
                      {"started_at", s.value("started_at", "")},
                      {"uptime_s", s.value("uptime_s", 0)},
                      {"policy_version", s.value("policy_version", 0)}};
      if (s.contains("store") && s["store"].is_object()) {
        const json& st = s["store"];
        summary["store"] = st.value("backend", "") + " " + st.value("path", "") + " (schema " +
                           std::to_string(st.value("schema_version", 0)) + ")";
      }
      printItem(out(), summary,
                {"node", "version", "started_at", "uptime_s", "policy_version", "store"});
      std::vector<std::vector<std::string>> rows;
      const json bound = s.value("listeners", json::array());
      for (const json& l : bound) {
        rows.push_back(
            {field(l, "service"), field(l, "transport"), field(l, "address"), field(l, "port")});
      }
      out() << "\n";
      printTable(out(), {"SERVICE", "TRANSPORT", "ADDRESS", "PORT"}, rows);
      rows.clear();
      const json counters = s.value("counters", json::object());
      for (const auto& [k, v] : counters.items()) {
        rows.push_back({printable(k), cell(v)});
      }
      out() << "\n";
      printTable(out(), {"COUNTER", "VALUE"}, rows);
    });
  }

  int audit() {
    std::string limit = o_.limit > 0 ? std::to_string(o_.limit) : "";
    return list(
        "/audit" + query({{"limit", limit}, {"object_type", o_.type}}),
        {"ID", "AT", "ACTOR", "SOURCE", "ACTION", "TYPE", "OBJECT"},
        [](const json& e) {
          return std::vector<std::string>{field(e, "id"),       field(e, "at"),
                                          field(e, "actor"),    field(e, "source_address"),
                                          field(e, "action"),   field(e, "object_type"),
                                          field(e, "object_id")};
        },
        "no audit entries");
  }

  int runOffline(const OfflineUserRunner& offline) {
    if (o_.verb == "show" || o_.verb == "edit") {
      return usage("user " + o_.verb + " needs the node's API; drop --config");
    }
    if (!offline) return usage("the offline user commands are not available here");
    OfflineUserCommand c;
    c.verb = o_.verb;
    c.config = o_.config;
    c.address = o_.name;
    c.display_name = o_.display_name;
    c.json = o_.json;
    if (c.verb == "add" || c.verb == "passwd") {
      auto pw = password(o_.name);
      if (!pw || pw->empty()) return noPassword();
      c.password = *pw;
    }
    return offline(c);
  }

  const AdminCli::Options& o_;
  const CliIo& io_;
  std::string url_;
  std::string token_;
};

// ---------------------------------------------------------------------------------------------
// Terminal

std::optional<std::string> askTerminal(const std::string& prompt, bool secret) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  if (write(fd, prompt.data(), prompt.size()) < 0) {
    close(fd);
    return std::nullopt;
  }
  termios saved{};
  bool restore = false;
  if (secret && tcgetattr(fd, &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
  }
  std::string line;
  char c;
  bool got = false;
  while (read(fd, &c, 1) == 1) {
    got = true;
    if (c == '\n') break;
    line.push_back(c);
  }
  if (restore) {
    tcsetattr(fd, TCSAFLUSH, &saved);
    ssize_t ignored = write(fd, "\n", 1);  // the newline the user typed was not echoed
    static_cast<void>(ignored);
  }
  close(fd);
  if (!got) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

CliIo processIo() {
  CliIo io;
  io.in = &std::cin;
  io.out = &std::cout;
  io.err = &std::cerr;
  io.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v == nullptr ? std::nullopt : std::optional<std::string>(v);
  };
  io.ask = askTerminal;
  return io;
}

AdminCli::AdminCli(CLI::App& app) : o_(std::make_unique<Options>()) {
  Options& o = *o_;
  // Every API command takes --url, --json and --ca-file.
  auto leaf = [&](CLI::App* parent, const std::string& verb, const std::string& about,
                  const std::string& group) {
    CLI::App* sub = parent->add_subcommand(verb, about);
    sub->callback([&o, verb, group] {
      o.group = group;
      o.verb = verb;
    });
    o.url_opts.push_back(
        sub->add_option("--url", o.url,
                        "Node admin URL, http(s)://HOST:PORT. Default: $HERALD_URL, the "
                        "URL of the last 'herald login', or http://127.0.0.1:8080"));
    sub->add_flag("--json", o.json, "Print the API's JSON answer as it is");
    sub->add_option("--ca-file", o.ca_file,
                    "PEM CA bundle to verify an https:// node (default: the system store)");
    o.leaves.push_back(sub);
    return sub;
  };
  auto group = [&](const std::string& name, const std::string& about) {
    CLI::App* g = app.add_subcommand(name, about);
    g->require_subcommand(1);
    return g;
  };
  auto passwordOptions = [&](CLI::App* sub) {
    o.password_opts.push_back(sub->add_option(
        "-p,--password", o.password,
        "The password on the command line (UNSAFE: other users can see it in the process list; "
        "for tests)"));
    sub->add_flag("--password-stdin", o.password_stdin,
                  "Read the password from the first line of standard input (for scripts)");
  };

  CLI::App* login = leaf(&app, "login",
                         "Sign in to a node's admin API and keep the token for the other "
                         "commands (asks for the URL, user and password)",
                         "login");
  o.user_opts.push_back(
      login->add_option("-u,--user", o.user, "Administrator name (default: ask, or admin)"));
  passwordOptions(login);
  leaf(&app, "logout", "Revoke the kept token and forget it", "logout");

  CLI::App* domain = group("domain", "Local IM domains of the node");
  leaf(domain, "list", "List domains", "domain")
      ->add_option("--filter", o.filter, "Only names containing TEXT (case-insensitive)");
  CLI::App* d_add = leaf(domain, "add", "Add a local domain", "domain");
  d_add->add_option("NAME", o.name, "Domain name, e.g. example.org")->required();
  d_add->add_option("--description", o.description, "Free text, up to 512 characters");
  leaf(domain, "show", "Show one domain", "domain")
      ->add_option("NAME", o.name, "Domain name")
      ->required();
  CLI::App* d_edit = leaf(domain, "edit", "Change a domain's description", "domain");
  d_edit->add_option("NAME", o.name, "Domain name")->required();
  d_edit->add_option("--description", o.description, "New description ('' to clear)")->required();
  leaf(domain, "delete", "Delete a domain (it must have no users)", "domain")
      ->add_option("NAME", o.name, "Domain name")
      ->required();

  CLI::App* federated =
      group("federated-domain",
            "Other organisations' domains that local users may federate with (SIP federation)");
  leaf(federated, "list", "List federated domains", "federated-domain")
      ->add_option("--filter", o.filter, "Only names containing TEXT (case-insensitive)");
  auto federatedOptions = [&](CLI::App* sub, bool adding) {
    auto& opts = o.federated_opts[adding ? "add" : "update"];
    auto text = [&](const std::string& field, const std::string& flag, const std::string& about) {
      opts[field] = sub->add_option(flag, o.federated[field], about);
      return opts[field];
    };
    text("description", "--description", "Free text shown to users, up to 512 characters");
    auto* integration = text("integration", "--integration",
                             "sip (standards-based peer), lync (Inter-domain to OCS/Lync/S4B) or "
                             "clearinghouse (Inter-domain to AOL)");
    if (adding) integration->required();
    opts["direct_federation"] = sub->add_option("--direct-federation", o.direct_federation,
                        "true: the peer is reached directly, not through an edge proxy");
    text("identity_policy", "--identity-policy",
         "How the peer proves the domain: subjects, rfc5922 or srv-target "
         "(default: srv-target for lync, else rfc5922)");
    text("discovery", "--discovery", "DNS lookups: sipfederationtls, rfc3263 or both (default)");
    text("via_domain", "--via-domain",
         "clearinghouse: the hub's domain (default: the cluster's "
         "default-federation-routing-domain)");
  };
  CLI::App* f_add = leaf(federated, "add", "Add a federated domain", "federated-domain");
  f_add->add_option("NAME", o.name, "Domain name, e.g. partner.example")->required();
  federatedOptions(f_add, true);
  leaf(federated, "show", "Show one federated domain", "federated-domain")
      ->add_option("NAME", o.name, "Domain name")
      ->required();
  CLI::App* f_update =
      leaf(federated, "update", "Change a federated domain's settings", "federated-domain");
  f_update->add_option("NAME", o.name, "Domain name")->required();
  federatedOptions(f_update, false);
  leaf(federated, "delete", "Delete a federated domain (and its incoming ACL entry)",
       "federated-domain")
      ->add_option("NAME", o.name, "Domain name")
      ->required();

  CLI::App* user = group("user",
                         "Local SIP users. With --config FILE, add/list/delete/passwd open the "
                         "node's store directly (offline recovery) instead of calling the API");
  o.user_group = user;
  o.config_opt = user->add_option("-c,--config", o.config,
                                  "Configuration file of the node: work on its store directly, "
                                  "without the API (add, list, delete, passwd)");
  CLI::App* u_list = leaf(user, "list", "List users", "user");
  u_list->add_option("--domain", o.domain, "Only users of this domain");
  u_list->add_option("--filter", o.filter, "Only addresses or display names containing TEXT");
  CLI::App* u_add = leaf(user, "add", "Add a user (asks for the password)", "user");
  u_add->add_option("ADDRESS", o.name, "USER@DOMAIN; DOMAIN must be a local domain")->required();
  o.display_name_opts.push_back(
      u_add->add_option("-n,--display-name", o.display_name, "Display name"));
  passwordOptions(u_add);
  leaf(user, "show", "Show one user", "user")
      ->add_option("ADDRESS", o.name, "USER@DOMAIN")
      ->required();
  CLI::App* u_edit = leaf(user, "edit", "Change a user's display name", "user");
  u_edit->add_option("ADDRESS", o.name, "USER@DOMAIN")->required();
  o.display_name_opts.push_back(
      u_edit->add_option("-n,--display-name", o.display_name, "New display name ('' to clear)")
          ->required());
  CLI::App* u_passwd = leaf(user, "passwd", "Set a user's password (asks for it)", "user");
  u_passwd->add_option("ADDRESS", o.name, "USER@DOMAIN")->required();
  passwordOptions(u_passwd);
  leaf(user, "delete", "Delete a user and its registrations", "user")
      ->add_option("ADDRESS", o.name, "USER@DOMAIN")
      ->required();
  // --config may come after the verb ("herald user add x@y -c node.toml").
  for (CLI::App* sub : user->get_subcommands([](CLI::App*) { return true; })) {
    sub->fallthrough();
    if (sub->get_name() != "show" && sub->get_name() != "edit") {
      sub->footer(
          "Offline: with -c,--config FILE (before or after the verb) this works on the node's "
          "store directly, without the API (--url and --ca-file are then unused).");
    }
  }

  CLI::App* param = group("param", "Service parameters, changed live");
  leaf(param, "list", "List parameters ('*' marks a value set through the API)", "param")
      ->add_option("--scope", o.scope, "Only 'cluster' or 'node' parameters")
      ->check(CLI::IsMember({"cluster", "node"}));
  leaf(param, "show", "Show one parameter with its rules", "param")
      ->add_option("NAME", o.name, "Parameter name, e.g. sip-t1")
      ->required();
  CLI::App* p_set = leaf(param, "set", "Set a parameter (VALUE read as its type)", "param");
  p_set->add_option("NAME", o.name, "Parameter name")->required();
  p_set->add_option("VALUE", o.value, "New value: true/false, an integer, or text")->required();
  leaf(param, "reset", "Reset a parameter to its default (the config file's value)", "param")
      ->add_option("NAME", o.name, "Parameter name")
      ->required();

  CLI::App* service = group("service", "The node's services: sip-proxy, sip-federation, presence");
  leaf(service, "list", "List services with their state and listeners", "service");
  for (const char* verb : {"activate", "deactivate", "restart"}) {
    std::string about = std::string(verb) == "activate"     ? "Activate and start a service"
                        : std::string(verb) == "deactivate" ? "Stop and deactivate a service"
                                                            : "Restart an activated service";
    leaf(service, verb, about, "service")
        ->add_option("NAME", o.name, "sip-proxy, sip-federation or presence")
        ->required();
  }

  leaf(&app, "status", "Show the node's version, listeners and counters", "status");

  CLI::App* audit = group("audit", "The audit log of changes and logins");
  CLI::App* a_list = leaf(audit, "list", "List audit entries, newest first", "audit");
  a_list->add_option("--limit", o.limit, "At most N entries (1-1000; default 100)")
      ->check(CLI::Range(1, 1000));
  a_list->add_option("--type", o.type, "Only entries about domain, user, param, service or admin");
}

AdminCli::~AdminCli() = default;

bool AdminCli::chosen() const { return !o_->group.empty(); }

int AdminCli::run(const CliIo& io, const OfflineUserRunner& offline) const {
  return Runner(*o_, io).run(offline);
}

std::string unknownCommandMessage(const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* at = &app;
  std::string path = app.get_name();
  for (const std::string& arg : args) {
    if (arg.empty() || arg[0] == '-') return "";  // an option: not a command word
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : at->get_subcommands({})) {
      if (sub->check_name(arg)) next = sub;
    }
    if (next != nullptr) {
      at = next;
      path += " " + arg;
      continue;
    }
    if (at->get_require_subcommand_min() == 0) return "";  // a leaf's argument
    std::string names;
    for (const CLI::App* sub : at->get_subcommands({})) {
      if (sub->get_name().empty()) continue;
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    return path + ": unknown command '" + printable(arg) + "' (commands: " + names +
           "); run '" + path + " --help'";
  }
  return "";
}

int runAdminCli(const std::vector<std::string>& args, const CliIo& io,
                const OfflineUserRunner& offline) {
  CLI::App app{"herald"};
  app.name("herald");
  app.require_subcommand(1);
  AdminCli cli(app);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (std::string m = unknownCommandMessage(app, args); !m.empty()) {
      *io.err << m << "\n";
      return kExitUsage;
    }
    int code = app.exit(e, *io.out, *io.err);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return cli.run(io, offline);
}

}  // namespace herald::admin
