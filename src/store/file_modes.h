#pragma once

// Owner-only modes for what Herald keeps on disk. The data directory holds SIP digest HA1s,
// administrators' password hashes and offline messages, so it is 0700 and the database files
// in it are 0600 whatever the umask. Used by the node at start, by CLI commands that open the
// store without a node (`-c`), and for the development TLS key's directory.
//
//   if (auto r = ensurePrivateDirectory(config.node.data_dir); !r) fail(r.error());
//
// Blocking (file system calls): run at start-up or on the store thread.

#include <filesystem>
#include <string>

#include "common/result.h"

namespace herald::store {

// Creates `dir` (and missing parents) with mode 0700. An existing one that grants group or
// other any access loses those bits, with a warning in the log.
[[nodiscard]] Result<void> ensurePrivateDirectory(const std::filesystem::path& dir);

// Makes the SQLite database at `db` and its -wal, -shm and -journal files 0600: creates the
// database file 0600 when absent (SQLite would create it 0644 less the umask, and gives the
// -wal and -shm files the database file's mode), and removes group and other bits from the
// ones that exist, with a warning. Database::open calls it before sqlite3_open_v2.
[[nodiscard]] Result<void> ensurePrivateDatabaseFiles(const std::filesystem::path& db);

// Writes `text` to `path` as a new file of mode 0600 (made beside it, synced, then renamed
// over an older one), so that a secret is never readable by others, not even for a moment.
[[nodiscard]] Result<void> writePrivateFile(const std::filesystem::path& path,
                                            const std::string& text);

}  // namespace herald::store
