// LocationService (update, lookup order and expiry, purge, load, the persist callback),
// the binding <-> record conversions, targetsFor, and UserDirectory.

#include "registrar/location_service.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "registrar/user_directory.h"

namespace herald::registrar {
namespace {

const std::string kAlice = "sip:alice@example.com";
const std::string kBob = "sip:bob@example.com";

Binding binding(std::string contact, int64_t expires_at, int q = -1) {
  Binding b;
  b.contact = std::move(contact);
  b.expires_at = expires_at;
  b.q = q;
  b.call_id = "call-1";
  b.cseq = 1;
  b.source = *Endpoint::parse("198.51.100.1:40000");
  return b;
}

std::vector<std::string> contactsOf(const std::vector<Binding>& bindings) {
  std::vector<std::string> out;
  for (const Binding& b : bindings) out.push_back(b.contact);
  return out;
}

// A mutation that appends `b`.
LocationService::Mutation add(Binding b) {
  return [b](std::vector<Binding>& bindings) -> Result<void> {
    bindings.push_back(b);
    return {};
  };
}

class LocationServiceTest : public ::testing::Test {
 protected:
  struct Persisted {
    std::string aor;
    std::vector<std::string> contacts;
    LocationService::Persisted done;
  };

  LocationServiceTest()
      : location_([this](const std::string& aor, const std::vector<Binding>& bindings,
                         LocationService::Persisted done) {
          persisted_.push_back({aor, contactsOf(bindings), std::move(done)});
        }) {}

  LocationService location_;
  std::vector<Persisted> persisted_;
};

TEST_F(LocationServiceTest, UpdateAddsAndPersistsTheAorsBindings) {
  bool done = false;
  auto result = location_.update(kAlice, 1000, add(binding("sip:alice@192.0.2.1", 2000)),
                                 [&](Result<void> r) { done = r.has_value(); });
  ASSERT_TRUE(result);
  EXPECT_EQ(contactsOf(*result), std::vector<std::string>{"sip:alice@192.0.2.1"});
  ASSERT_EQ(persisted_.size(), 1u);
  EXPECT_EQ(persisted_[0].aor, kAlice);
  EXPECT_EQ(persisted_[0].contacts, std::vector<std::string>{"sip:alice@192.0.2.1"});
  EXPECT_FALSE(done) << "durable only when the persist callback says so";
  ASSERT_TRUE(persisted_[0].done);
  persisted_[0].done({});
  EXPECT_TRUE(done);

  EXPECT_EQ(contactsOf(location_.lookup(kAlice, 1000)),
            std::vector<std::string>{"sip:alice@192.0.2.1"});
  EXPECT_TRUE(location_.lookup(kBob, 1000).empty());
  EXPECT_EQ(location_.bindingCount(), 1u);
}

TEST_F(LocationServiceTest, DoneReportsAFailedPersist) {
  std::optional<Result<void>> reported;
  ASSERT_TRUE(location_.update(kAlice, 1000, add(binding("sip:alice@192.0.2.1", 2000)),
                               [&](Result<void> r) { reported = r; }));
  ASSERT_EQ(persisted_.size(), 1u);
  persisted_[0].done(unexpected(unavailable("disk full")));
  ASSERT_TRUE(reported.has_value());
  ASSERT_FALSE(*reported);
  EXPECT_EQ(reported->error().detail, "disk full");
}

TEST(LocationServiceNoPersistTest, DoneIsCalledAtOnceWithoutAPersistCallback) {
  LocationService location;
  int calls = 0;
  ASSERT_TRUE(location.update(kAlice, 1000, add(binding("sip:alice@192.0.2.1", 2000)),
                              [&](Result<void> r) { calls += r ? 1 : 100; }));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(location.bindingCount(), 1u);
}

TEST(LocationServiceNoPersistTest, SetPersistInstallsTheCallback) {
  LocationService location;
  ASSERT_TRUE(location.update(kAlice, 1000, add(binding("sip:alice@192.0.2.1", 2000))));
  std::vector<std::string> seen;
  location.setPersist([&](const std::string& aor, const std::vector<Binding>& bindings,
                          LocationService::Persisted done) {
    seen.push_back(aor + " " + std::to_string(bindings.size()));
    if (done) done({});  // update() was given none
  });
  ASSERT_TRUE(location.update(kAlice, 1000, add(binding("sip:alice@192.0.2.2", 2000))));
  EXPECT_EQ(seen, std::vector<std::string>{kAlice + " 2"});
}

TEST_F(LocationServiceTest, EveryChangeIsPersistedInOrder) {
  ASSERT_TRUE(location_.update(kAlice, 1000, add(binding("sip:a@192.0.2.1", 5000))));
  ASSERT_TRUE(location_.update(kBob, 1000, add(binding("sip:b@192.0.2.2", 5000))));
  ASSERT_TRUE(location_.update(kAlice, 1000, add(binding("sip:a@192.0.2.3", 5000))));
  ASSERT_TRUE(location_.update(kAlice, 1000, [](std::vector<Binding>& bindings) -> Result<void> {
    bindings.erase(bindings.begin());
    return {};
  }));
  ASSERT_EQ(persisted_.size(), 4u);
  EXPECT_EQ(persisted_[0].aor, kAlice);
  EXPECT_EQ(persisted_[0].contacts, std::vector<std::string>{"sip:a@192.0.2.1"});
  EXPECT_EQ(persisted_[1].aor, kBob);
  EXPECT_EQ(persisted_[1].contacts, std::vector<std::string>{"sip:b@192.0.2.2"});
  EXPECT_EQ(persisted_[2].aor, kAlice);
  EXPECT_EQ(persisted_[2].contacts,
            (std::vector<std::string>{"sip:a@192.0.2.1", "sip:a@192.0.2.3"}));
  EXPECT_EQ(persisted_[3].aor, kAlice);
  EXPECT_EQ(persisted_[3].contacts, std::vector<std::string>{"sip:a@192.0.2.3"});
  EXPECT_EQ(location_.bindingCount(), 2u);
}

TEST_F(LocationServiceTest, UpdateReplacesAChangedBinding) {
  ASSERT_TRUE(location_.update(kAlice, 1000, add(binding("sip:a@192.0.2.1", 2000))));
  auto result = location_.update(kAlice, 1500, [](std::vector<Binding>& bindings) -> Result<void> {
    bindings.at(0).expires_at = 9000;
    bindings.at(0).cseq = 2;
    return {};
  });
  ASSERT_TRUE(result);
  ASSERT_EQ(result->size(), 1u);
  auto now = location_.lookup(kAlice, 2500);
  ASSERT_EQ(now.size(), 1u) << "refreshed past its first expiry";
  EXPECT_EQ(now[0].expires_at, 9000);
  EXPECT_EQ(now[0].cseq, 2u);
  EXPECT_EQ(location_.bindingCount(), 1u);
}

TEST_F(LocationServiceTest, FailedMutationChangesNothing) {
  ASSERT_TRUE(location_.update(kAlice, 1000, add(binding("sip:a@192.0.2.1", 2000))));
  persisted_.clear();
  bool done_called = false;
  auto result = location_.update(
      kAlice, 1000,
      [](std::vector<Binding>& bindings) -> Result<void> {
        bindings.clear();
        bindings.push_back(binding("sip:a@192.0.2.9", 3000));
        return unexpected(invalidArgument("out of order"));
      },
      [&](Result<void>) { done_called = true; });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(result.error().detail, "out of order");
  EXPECT_TRUE(persisted_.empty());
  EXPECT_FALSE(done_called);
  EXPECT_EQ(contactsOf(location_.lookup(kAlice, 1000)),
            std::vector<std::string>{"sip:a@192.0.2.1"});
}

TEST_F(LocationServiceTest, MutationSeesOnlyUnexpiredBindings) {
  ASSERT_TRUE(location_.update(kAlice, 1000, add(binding("sip:a@192.0.2.1", 1500))));
  ASSERT_TRUE(location_.update(kAlice, 1000, add(binding("sip:a@192.0.2.2", 3000))));
  std::vector<std::string> seen;
  auto result = location_.update(kAlice, 1500, [&](std::vector<Binding>& bindings) -> Result<void> {
    seen = contactsOf(bindings);
    return {};
  });
  EXPECT_EQ(seen, std::vector<std::string>{"sip:a@192.0.2.2"}) << "expires_at == now is expired";
  ASSERT_TRUE(result);
  EXPECT_EQ(contactsOf(*result), std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_EQ(persisted_.back().contacts, std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_EQ(location_.bindingCount(), 1u) << "the expired one is gone from memory too";
}

TEST_F(LocationServiceTest, RemovingTheLastBindingForgetsTheAor) {
  ASSERT_TRUE(location_.update(kAlice, 1000, add(binding("sip:a@192.0.2.1", 2000))));
  auto result = location_.update(kAlice, 1000, [](std::vector<Binding>& bindings) -> Result<void> {
    bindings.clear();
    return {};
  });
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->empty());
  ASSERT_EQ(persisted_.size(), 2u);
  EXPECT_EQ(persisted_[1].aor, kAlice);
  EXPECT_TRUE(persisted_[1].contacts.empty()) << "the store is told to delete them";
  EXPECT_EQ(location_.bindingCount(), 0u);
  EXPECT_TRUE(location_.lookup(kAlice, 1000).empty());
}

TEST_F(LocationServiceTest, LookupSkipsExpiredAndPutsHighestQFirst) {
  ASSERT_TRUE(location_.update(kAlice, 1000, [](std::vector<Binding>& bindings) -> Result<void> {
    bindings.push_back(binding("sip:q500a@192.0.2.1", 5000, 500));
    bindings.push_back(binding("sip:noq@192.0.2.2", 5000, -1));  // as q=1.0
    bindings.push_back(binding("sip:q1000@192.0.2.3", 5000, 1000));
    bindings.push_back(binding("sip:q0@192.0.2.4", 5000, 0));
    bindings.push_back(binding("sip:q500b@192.0.2.5", 5000, 500));
    bindings.push_back(binding("sip:q900-expiring@192.0.2.6", 2000, 900));
    return {};
  }));
  EXPECT_EQ(contactsOf(location_.lookup(kAlice, 1999)),
            (std::vector<std::string>{"sip:noq@192.0.2.2", "sip:q1000@192.0.2.3",
                                      "sip:q900-expiring@192.0.2.6", "sip:q500a@192.0.2.1",
                                      "sip:q500b@192.0.2.5", "sip:q0@192.0.2.4"}));
  EXPECT_EQ(
      contactsOf(location_.lookup(kAlice, 2000)),
      (std::vector<std::string>{"sip:noq@192.0.2.2", "sip:q1000@192.0.2.3", "sip:q500a@192.0.2.1",
                                "sip:q500b@192.0.2.5", "sip:q0@192.0.2.4"}));
  EXPECT_TRUE(location_.lookup(kAlice, 5000).empty());
  EXPECT_EQ(location_.bindingCount(), 6u) << "lookup does not remove";
}

std::vector<std::string> urisOf(const std::vector<sip::Proxy::Target>& targets) {
  std::vector<std::string> out;
  for (const auto& t : targets) out.push_back(t.request_uri);
  return out;
}

TEST_F(LocationServiceTest, TargetsAreTargetsForLookupWithoutTheCopies) {
  ASSERT_TRUE(location_.update(kAlice, 1000, [](std::vector<Binding>& bindings) -> Result<void> {
    bindings.push_back(binding("sip:q500a@192.0.2.1", 5000, 500));
    bindings.push_back(binding("sip:noq@192.0.2.2", 5000, -1));
    bindings.push_back(binding("sip:q0@192.0.2.4", 5000, 0));
    bindings.push_back(binding("sip:q900-expiring@192.0.2.6", 2000, 900));
    bindings.push_back(binding("sip:q500b@192.0.2.5", 5000, 500));
    return {};
  }));
  ASSERT_TRUE(location_.update(kBob, 1000, add(binding("sip:bob@192.0.2.9:5070", 5000))));
  for (int64_t now : {1000, 1999, 2000, 4999, 5000}) {
    for (const std::string& aor : {kAlice, kBob}) {
      auto expected = targetsFor(location_.lookup(aor, now));
      auto got = location_.targets(aor, now);
      EXPECT_EQ(urisOf(got), urisOf(expected)) << aor << " at " << now;
      ASSERT_EQ(got.size(), expected.size());
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].next_hop.endpoint, expected[i].next_hop.endpoint);
        EXPECT_EQ(got[i].next_hop.transport, expected[i].next_hop.transport);
      }
    }
  }
  EXPECT_EQ(urisOf(location_.targets(kAlice, 1999)),
            (std::vector<std::string>{"sip:noq@192.0.2.2", "sip:q900-expiring@192.0.2.6",
                                      "sip:q500a@192.0.2.1", "sip:q500b@192.0.2.5",
                                      "sip:q0@192.0.2.4"}));
  EXPECT_EQ(urisOf(location_.targets(kBob, 4999)),
            std::vector<std::string>{"sip:bob@192.0.2.9:5070"});
  EXPECT_TRUE(location_.targets(kBob, 5000).empty());
  EXPECT_TRUE(location_.targets("sip:nobody@example.com", 1000).empty());
}

TEST_F(LocationServiceTest, PurgeRemovesExpiredBindingsEverywhere) {
  ASSERT_TRUE(location_.update(kAlice, 1000, add(binding("sip:a@192.0.2.1", 1500))));
  ASSERT_TRUE(location_.update(kAlice, 1000, add(binding("sip:a@192.0.2.2", 3000))));
  ASSERT_TRUE(location_.update(kBob, 1000, add(binding("sip:b@192.0.2.3", 1500))));
  size_t persisted = persisted_.size();
  EXPECT_EQ(location_.purge(1499), 0u);
  EXPECT_EQ(location_.bindingCount(), 3u);
  EXPECT_EQ(location_.purge(1500), 2u);
  EXPECT_EQ(location_.bindingCount(), 1u);
  EXPECT_EQ(location_.purge(1500), 0u);
  EXPECT_EQ(contactsOf(location_.lookup(kAlice, 1500)),
            std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_TRUE(location_.lookup(kBob, 1000).empty()) << "gone, whatever the time asked";
  EXPECT_EQ(location_.purge(3000), 1u);
  EXPECT_EQ(location_.bindingCount(), 0u);
  // The store deletes its expired rows itself (Store::deleteExpiredBindings).
  EXPECT_EQ(persisted_.size(), persisted);
}

store::BindingRecord record(std::string aor, std::string contact, std::string transport,
                            std::string source) {
  store::BindingRecord r;
  r.aor = std::move(aor);
  r.contact = std::move(contact);
  r.contact_params = ";+sip.instance=\"<urn:uuid:1>\"";
  r.q = 700;
  r.expires_at = 5000;
  r.call_id = "call-9";
  r.cseq = 42;
  r.transport = std::move(transport);
  r.source = std::move(source);
  r.instance = "<urn:uuid:1>";
  r.user_agent = "Phone/1.0";
  return r;
}

TEST_F(LocationServiceTest, LoadReplacesEverything) {
  ASSERT_TRUE(location_.update(kBob, 1000, add(binding("sip:b@192.0.2.3", 9000))));
  persisted_.clear();
  location_.load({record(kAlice, "sip:a@192.0.2.1", "TCP", "192.0.2.1:5070"),
                  record(kAlice, "sip:a@192.0.2.2", "UDP", "[2001:db8::2]:5060"),
                  record("sip:carol@example.com", "sip:c@192.0.2.3", "TLS", "192.0.2.3:5061")});
  EXPECT_EQ(location_.bindingCount(), 3u);
  EXPECT_TRUE(location_.lookup(kBob, 1000).empty());
  EXPECT_TRUE(persisted_.empty()) << "what was loaded is already stored";

  auto alice = location_.lookup(kAlice, 1000);
  ASSERT_EQ(contactsOf(alice), (std::vector<std::string>{"sip:a@192.0.2.1", "sip:a@192.0.2.2"}));
  const Binding& b = alice[0];
  EXPECT_EQ(b.contact_params, ";+sip.instance=\"<urn:uuid:1>\"");
  EXPECT_EQ(b.q, 700);
  EXPECT_EQ(b.expires_at, 5000);
  EXPECT_EQ(b.call_id, "call-9");
  EXPECT_EQ(b.cseq, 42u);
  EXPECT_EQ(b.transport, sip::Transport::Tcp);
  EXPECT_EQ(b.source, *Endpoint::parse("192.0.2.1:5070"));
  EXPECT_EQ(b.connection, 0u);
  EXPECT_EQ(b.instance, "<urn:uuid:1>");
  EXPECT_EQ(b.user_agent, "Phone/1.0");
  EXPECT_EQ(alice[1].transport, sip::Transport::Udp);
  EXPECT_EQ(alice[1].source, *Endpoint::parse("[2001:db8::2]:5060"));
  auto carol = location_.lookup("sip:carol@example.com", 1000);
  ASSERT_EQ(carol.size(), 1u);
  EXPECT_EQ(carol[0].transport, sip::Transport::Tls);

  location_.load({});
  EXPECT_EQ(location_.bindingCount(), 0u);
}

TEST(BindingRecordTest, ToRecordCopiesEveryField) {
  Binding b = binding("sip:alice@192.0.2.1:5070;transport=tcp", 1234, 500);
  b.contact_params = ";reg-id=1";
  b.call_id = "abc@host";
  b.cseq = 77;
  b.transport = sip::Transport::Tcp;
  b.source = *Endpoint::parse("[2001:db8::1]:5070");
  b.connection = 9;
  b.instance = "<urn:uuid:2>";
  b.user_agent = "UA";
  store::BindingRecord r = toRecord(kAlice, b);
  EXPECT_EQ(r.aor, kAlice);
  EXPECT_EQ(r.contact, "sip:alice@192.0.2.1:5070;transport=tcp");
  EXPECT_EQ(r.contact_params, ";reg-id=1");
  EXPECT_EQ(r.q, 500);
  EXPECT_EQ(r.expires_at, 1234);
  EXPECT_EQ(r.call_id, "abc@host");
  EXPECT_EQ(r.cseq, 77);
  EXPECT_EQ(r.transport, "TCP");
  EXPECT_EQ(r.source, "[2001:db8::1]:5070");
  EXPECT_EQ(r.instance, "<urn:uuid:2>");
  EXPECT_EQ(r.user_agent, "UA");

  Binding back = fromRecord(r);
  EXPECT_EQ(back.contact, b.contact);
  EXPECT_EQ(back.contact_params, b.contact_params);
  EXPECT_EQ(back.q, b.q);
  EXPECT_EQ(back.expires_at, b.expires_at);
  EXPECT_EQ(back.call_id, b.call_id);
  EXPECT_EQ(back.cseq, b.cseq);
  EXPECT_EQ(back.transport, b.transport);
  EXPECT_EQ(back.source, b.source);
  EXPECT_EQ(back.connection, 0u) << "a connection does not survive a restart";
  EXPECT_EQ(back.instance, b.instance);
  EXPECT_EQ(back.user_agent, b.user_agent);
}

TEST(BindingRecordTest, FromRecordToleratesUnknownTransportAndSource) {
  Binding b = fromRecord(record(kAlice, "sip:a@192.0.2.1", "SCTP", "not an address"));
  EXPECT_EQ(b.transport, sip::Transport::Udp);
  EXPECT_FALSE(b.source.valid());
}

Binding flowBinding(std::string contact, sip::Transport transport, uint64_t connection) {
  Binding b = binding(std::move(contact), 5000);
  b.transport = transport;
  b.connection = connection;
  return b;
}

TEST(TargetsForTest, UdpContactWithAnAddressIsSentThere) {
  auto targets = targetsFor({binding("sip:alice@192.0.2.20:5080", 5000)});
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].request_uri, "sip:alice@192.0.2.20:5080");
  EXPECT_EQ(targets[0].next_hop.transport, sip::Transport::Udp);
  EXPECT_EQ(targets[0].next_hop.endpoint, *Endpoint::parse("192.0.2.20:5080"));
  EXPECT_EQ(targets[0].next_hop.connection, 0u);
}

TEST(TargetsForTest, ContactWithAHostNameGoesWhereTheRegisterCameFrom) {
  auto targets = targetsFor({binding("sip:alice@pc.example.com", 5000)});
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].request_uri, "sip:alice@pc.example.com");
  EXPECT_EQ(targets[0].next_hop.endpoint, *Endpoint::parse("198.51.100.1:40000"));
}

TEST(TargetsForTest, WithoutAFlowTheContactChoosesTheTransport) {
  auto targets = targetsFor({binding("sip:alice@192.0.2.20;transport=tcp", 5000),
                             binding("sips:alice@192.0.2.21", 5000),
                             binding("sip:alice@[2001:db8::5]:5062", 5000)});
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0].next_hop.transport, sip::Transport::Tcp);
  EXPECT_EQ(targets[0].next_hop.endpoint, *Endpoint::parse("192.0.2.20:5060"));
  EXPECT_EQ(targets[1].next_hop.transport, sip::Transport::Tls);
  EXPECT_EQ(targets[1].next_hop.endpoint, *Endpoint::parse("192.0.2.21:5061"));
  EXPECT_EQ(targets[2].next_hop.transport, sip::Transport::Udp);
  EXPECT_EQ(targets[2].next_hop.endpoint, *Endpoint::parse("[2001:db8::5]:5062"));
}

TEST(TargetsForTest, StreamRegistrationsUseTheirFlow) {
  auto targets =
      targetsFor({flowBinding("sip:alice@pc.example.com;transport=udp", sip::Transport::Tcp, 42),
                  flowBinding("sip:alice@192.0.2.30", sip::Transport::Tls, 43)});
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].next_hop.transport, sip::Transport::Tcp) << "the flow's, not the URI's";
  EXPECT_EQ(targets[0].next_hop.connection, 42u);
  EXPECT_EQ(targets[0].next_hop.endpoint, *Endpoint::parse("198.51.100.1:40000"));
  EXPECT_EQ(targets[1].next_hop.transport, sip::Transport::Tls);
  EXPECT_EQ(targets[1].next_hop.connection, 43u);
  EXPECT_EQ(targets[1].next_hop.endpoint, *Endpoint::parse("192.0.2.30:5061"));
}

TEST(TargetsForTest, BindingsWithNowhereToGoAreLeftOut) {
  Binding nowhere = binding("sip:alice@pc.example.com", 5000);
  nowhere.source = Endpoint();
  auto targets = targetsFor({nowhere, binding("sip:alice@192.0.2.20", 5000)});
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].request_uri, "sip:alice@192.0.2.20");
  EXPECT_TRUE(targetsFor({}).empty());
}

UserEntry entry(std::string user, std::string domain, std::string ha1) {
  return UserEntry{std::move(user), std::move(domain), "", ha1, ha1 + "-256"};
}

store::UserRecord userRecord(std::string user, std::string domain) {
  store::UserRecord u;
  u.username = std::move(user);
  u.domain = std::move(domain);
  u.display_name = "Name of " + u.username;
  u.ha1_md5 = "md5-" + u.username;
  u.ha1_sha256 = "sha-" + u.username;
  return u;
}

TEST(UserDirectoryTest, ReplaceLoadsTheWholeSnapshot) {
  UserDirectory users;
  EXPECT_EQ(users.size(), 0u);
  users.replace({userRecord("alice", "example.com"), userRecord("bob", "example.org")});
  EXPECT_EQ(users.size(), 2u);
  auto alice = users.find("alice", "example.com");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->username, "alice");
  EXPECT_EQ(alice->domain, "example.com");
  EXPECT_EQ(alice->display_name, "Name of alice");
  EXPECT_EQ(alice->ha1_md5, "md5-alice");
  EXPECT_EQ(alice->ha1_sha256, "sha-alice");
  EXPECT_FALSE(users.find("bob", "example.com")) << "bob is in example.org";
  ASSERT_TRUE(users.find("bob", "example.org"));

  users.replace({userRecord("carol", "example.com")});
  EXPECT_EQ(users.size(), 1u);
  EXPECT_FALSE(users.find("alice", "example.com"));
  EXPECT_TRUE(users.find("carol", "example.com"));
}

TEST(UserDirectoryTest, UserPartIsCaseSensitiveDomainIsNot) {
  UserDirectory users;
  users.upsert(entry("alice", "Example.COM", "a"));
  ASSERT_TRUE(users.find("alice", "example.com"));
  EXPECT_EQ(users.find("alice", "EXAMPLE.com")->ha1_md5, "a");
  EXPECT_FALSE(users.find("Alice", "example.com"));
  EXPECT_FALSE(users.find("ALICE", "example.com"));
  users.upsert(entry("Alice", "example.com", "A"));
  EXPECT_EQ(users.size(), 2u);
  EXPECT_EQ(users.find("Alice", "example.com")->ha1_md5, "A");
  EXPECT_EQ(users.find("alice", "example.com")->ha1_md5, "a");
}

TEST(UserDirectoryTest, ContainsAgreesWithFind) {
  UserDirectory users;
  users.upsert(entry("alice", "Example.COM", "a"));
  EXPECT_TRUE(users.contains("alice", "example.com"));
  EXPECT_TRUE(users.contains("alice", "EXAMPLE.com"));
  EXPECT_FALSE(users.contains("Alice", "example.com"));
  EXPECT_FALSE(users.contains("alice", "example.org"));
  EXPECT_FALSE(users.contains("", ""));
  users.erase("alice", "example.com");
  EXPECT_FALSE(users.contains("alice", "example.com"));
}

TEST(UserDirectoryTest, UpsertAddsOrChangesOneUser) {
  UserDirectory users;
  users.replace({userRecord("alice", "example.com"), userRecord("bob", "example.com")});
  users.upsert(entry("carol", "example.com", "c"));
  EXPECT_EQ(users.size(), 3u);
  users.upsert(entry("alice", "EXAMPLE.COM", "new"));
  EXPECT_EQ(users.size(), 3u) << "the same user, whatever the domain's case";
  auto alice = users.find("alice", "example.com");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->ha1_md5, "new");
  EXPECT_EQ(alice->ha1_sha256, "new-256");
  EXPECT_EQ(users.find("bob", "example.com")->ha1_md5, "md5-bob") << "others untouched";
}

TEST(UserDirectoryTest, EraseRemovesOneUser) {
  UserDirectory users;
  users.replace({userRecord("alice", "example.com"), userRecord("bob", "example.com")});
  users.erase("Alice", "example.com");
  EXPECT_EQ(users.size(), 2u) << "another user";
  users.erase("alice", "Example.Com");
  EXPECT_EQ(users.size(), 1u);
  EXPECT_FALSE(users.find("alice", "example.com"));
  EXPECT_TRUE(users.find("bob", "example.com"));
  users.erase("alice", "example.com");
  EXPECT_EQ(users.size(), 1u);
}

}  // namespace
// The store thread reloads the whole set when the database changes under it; a user the admin
// plane changed while that list was being read must not be undone by the stale list.
TEST(UserDirectoryTest, AReloadReadBeforeAnAdminChangeIsNotApplied) {
  UserDirectory users;
  users.replace({userRecord("alice", "example.com")});
  uint64_t seen = users.generation();
  auto stale = std::vector<store::UserRecord>{userRecord("alice", "example.com")};
  users.upsert(entry("alice", "example.com", "new password"));
  EXPECT_FALSE(users.replaceIfUnchanged(stale, seen));
  EXPECT_EQ(users.find("alice", "example.com")->ha1_md5, "new password");
  users.erase("alice", "example.com");
  EXPECT_FALSE(users.replaceIfUnchanged(stale, seen + 1));
  EXPECT_FALSE(users.find("alice", "example.com"));
  EXPECT_TRUE(users.replaceIfUnchanged(stale, users.generation()));
  EXPECT_EQ(users.find("alice", "example.com")->ha1_md5, "md5-alice");
}

}  // namespace herald::registrar
