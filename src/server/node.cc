#include "server/node.h"

#include <unistd.h>

#include "common/log.h"
#include "server/dev_certificate.h"

namespace herald::server {

Node::Node(config::Config config) : config_(std::move(config)) {}

Node::~Node() { stop(); }

std::vector<std::string> Node::listenerDescriptions() const {
  std::vector<std::string> out;
  for (const auto& l : config_.sip.listeners) {
    bool v6 = l.address.find(':') != std::string::npos;
    out.push_back(std::string(config::transportName(l.transport)) + " " + (v6 ? "[" : "") +
                  l.address + (v6 ? "]" : "") + ":" + std::to_string(l.port));
  }
  return out;
}

Result<void> Node::start() {
  std::error_code ec;
  std::filesystem::create_directories(config_.node.data_dir, ec);
  if (ec) {
    return unexpected(unavailable("cannot create data directory " + config_.node.data_dir.string() +
                                  ": " + ec.message()));
  }
  HLOG_INFO(Server, "node {} starting, data in {}", config_.node.name,
            config_.node.data_dir.string());

  if (config_.tls.certificate.empty()) {
    char host[256] = "localhost";
    ::gethostname(host, sizeof(host) - 1);
    auto cert = ensureDevCertificate(config_.node.data_dir / "tls", host);
    if (!cert) return unexpected(cert.error());
    HLOG_INFO(Server, "{} development TLS certificate {} ({}, valid until {})",
              cert->generated ? "generated" : "using", cert->certificate.string(), cert->subject,
              cert->not_after);
    config_.tls.certificate = cert->certificate;
    config_.tls.private_key = cert->private_key;
  } else {
    HLOG_INFO(Server, "TLS certificate {}", config_.tls.certificate.string());
  }

  if (config_.sip.domains.empty()) {
    HLOG_WARN(Server, "no local domains configured (sip.domains)");
  }
  for (const auto& d : config_.sip.domains) HLOG_INFO(Server, "local domain {}", d);
  for (const auto& l : listenerDescriptions()) {
    HLOG_INFO(Server, "SIP listener {} (not answering yet: the SIP engine is issue 3)", l);
  }
  started_ = true;
  return {};
}

void Node::stop() {
  if (!started_) return;
  started_ = false;
  HLOG_INFO(Server, "node {} stopped", config_.node.name);
}

}  // namespace herald::server
