#include "store/file_modes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/log.h"

namespace herald::store {
namespace {

constexpr mode_t kGroupOther = S_IRWXG | S_IRWXO;

Error fileError(const std::string& what, const std::filesystem::path& path) {
  return unavailable(what + " " + path.string() + ": " + std::strerror(errno));
}

// Removes group and other bits from `path`, which `st` describes.
Result<void> tighten(const std::filesystem::path& path, const struct stat& st) {
  if ((st.st_mode & kGroupOther) == 0) return {};
  const mode_t owner_only = st.st_mode & S_IRWXU;
  if (::chmod(path.c_str(), owner_only) != 0) return unexpected(fileError("cannot chmod", path));
  HLOG_WARN(Store, "{} was mode {:o}; changed to {:o} (owner only)", path.string(),
            st.st_mode & 07777, owner_only);
  return {};
}

}  // namespace

Result<void> ensurePrivateDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (dir.has_parent_path()) {
    // Parents keep the usual mode (they may be /var/lib); only the data directory is private.
    std::filesystem::create_directories(dir.parent_path(), ec);
    if (ec) {
      return unexpected(
          unavailable("cannot create directory " + dir.parent_path().string() + ": " +
                      ec.message()));
    }
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return unexpected(fileError("cannot create directory", dir));
  }
  // mkdir's mode is subject to the umask (0700 stays 0700 for any sane one), and the directory
  // may have existed: check what is there.
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return unexpected(fileError("cannot stat", dir));
  if (!S_ISDIR(st.st_mode)) return unexpected(unavailable(dir.string() + " is not a directory"));
  return tighten(dir, st);
}

Result<void> ensurePrivateDatabaseFiles(const std::filesystem::path& db) {
  // By path, never open() + close(): closing any descriptor of a file drops every POSIX lock
  // this process holds on it, and the node already has the database open (the store worker)
  // when the admin service opens its own connection. SQLite's locks would be gone, and another
  // process could checkpoint and delete the -wal under it. The data directory is 0700 by now,
  // so nobody else can swap a file between stat() and chmod().
  int fd = ::open(db.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);  // new, so nobody holds a lock on it; SQLite fills the empty file
    return {};
  }
  if (errno != EEXIST) return unexpected(fileError("cannot create", db));
  struct stat st {};
  if (::stat(db.c_str(), &st) != 0) return unexpected(fileError("cannot stat", db));
  HERALD_TRY(tighten(db, st));
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    std::filesystem::path side = db;
    side += suffix;
    if (::lstat(side.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return unexpected(fileError("cannot stat", side));
    }
    if (S_ISREG(st.st_mode)) {
      HERALD_TRY(tighten(side, st));
    }
  }
  return {};
}

Result<void> writePrivateFile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return unexpected(fileError("cannot create", tmp));
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = fileError("cannot write", path);
    ::unlink(tmp.c_str());
    return unexpected(e);
  }
  return {};
}

}  // namespace herald::store
