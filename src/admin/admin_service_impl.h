#pragma once

// AdminServiceImpl: AdminService over the SQLite store. It routes each call to the resource
// that owns the collection (internal/domains.h, users.h, params.h, services.h, audit_log.h)
// and to Accounts for administrators; internal/change_runner.h says how a change is
// committed and made live. Built by AdminService::open().

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "admin/admin_service.h"
#include "admin/internal/accounts.h"
#include "admin/internal/context.h"
#include "admin/internal/resource.h"
#include "admin/internal/services.h"
#include "admin/internal/users.h"

namespace herald::admin {

class AdminServiceImpl final : public AdminService {
 public:
  explicit AdminServiceImpl(std::unique_ptr<detail::Context> ctx);

  // Imports the config file's domains, creates the first administrator, builds the policy.
  ApiResult<void> start(const std::filesystem::path& data_dir);

  std::optional<std::filesystem::path> initialPasswordFile() const override {
    return initial_password_file_;
  }
  PolicyPtr policy() const override { return ctx_->policy(); }

  ApiResult<Answer> list(const std::string& collection, const ListQuery& q) override;
  ApiResult<Answer> get(const std::string& collection, const std::string& key) override;
  ApiResult<Answer> create(const std::string& collection, const nlohmann::json& body,
                           const Change& change) override;
  ApiResult<Answer> update(const std::string& collection, const std::string& key,
                           const nlohmann::json& body, const Change& change) override;
  ApiResult<Answer> remove(const std::string& collection, const std::string& key,
                           const Change& change) override;
  ApiResult<Answer> setUserPassword(const std::string& address, const nlohmann::json& body,
                                    const Change& change) override;
  ApiResult<Answer> serviceAction(const std::string& name, const std::string& action,
                                  const Change& change) override;
  nlohmann::json status() override;

  using AdminService::login;
  ApiResult<Session> login(const std::string& username, const std::string& password,
                           const std::string& source_address, const std::string& device_token,
                           int64_t* retry_after_s) override;
  ApiResult<void> logout(const std::string& token) override;
  ApiResult<Session> authenticate(const std::string& token) override;
  ApiResult<void> changeAdminPassword(const std::string& name, const nlohmann::json& body,
                                      const Session& session,
                                      const std::string& source_address) override;

 private:
  ApiResult<detail::Resource*> resource(const std::string& collection);

  std::unique_ptr<detail::Context> ctx_;
  detail::Users* users_ = nullptr;        // owned by resources_
  detail::Services* services_ = nullptr;  // owned by resources_
  std::map<std::string, std::unique_ptr<detail::Resource>, std::less<>> resources_;
  detail::Accounts accounts_;
  std::optional<std::filesystem::path> initial_password_file_;
};

}  // namespace herald::admin
