// Shared-memory blobs (Boost.Interprocess, i.e. POSIX shm_open under /dev/shm): big payloads
// (images, audio, embeddings) cross process boundaries as a segment name instead of bytes.
// Names are "kiln.<instance>.<owner>.<n>" so that one supervisor instance can find and remove
// everything it, its runners or its ipc clients created, after delivery and after a crash:
// runners write under "kiln.<instance>.<runner>.", the supervisor under "kiln.<instance>.in.",
// ipc clients under "kiln.<instance>.c." (shm_client_prefix).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/ipc/codec.h"

namespace kiln::ipc {

// Prefix shared by every segment of an instance: "kiln.<instance>.".
std::string shm_prefix(const std::string& instance);

// Prefix of the segments ipc clients create for their inputs: "kiln.<instance>.c.".
std::string shm_client_prefix(const std::string& instance);

// Creates segment `name` holding a copy of [data, data+size). Throws kiln::Error on failure
// (name taken, /dev/shm full).
void shm_write(const std::string& name, const void* data, size_t size);

// Copies out segment `name`, which must hold exactly `size` bytes. Throws kiln::Error when it
// does not exist or its size differs.
std::vector<uint8_t> shm_read(const std::string& name, size_t size);

// What the supervisor checks before it accepts a segment a client created: that it exists,
// is a regular file owned by this user and holds `size` bytes. Throws kiln::Error saying
// which check failed.
void shm_check_foreign(const std::string& name, uint64_t size);

// Seconds since segment `name` was last written (-1 when it does not exist).
double shm_age_s(const std::string& name);

// Removes segment `name`; true if it existed.
bool shm_remove(const std::string& name);

// Names of existing segments starting with `prefix` (scans /dev/shm).
std::vector<std::string> shm_list(const std::string& prefix);

// Removes every segment starting with `prefix`; returns how many.
size_t shm_remove_all(const std::string& prefix);

// A blob reference in a message: {"shm": name, "size": n}.
json shm_ref(const std::string& name, size_t size);
bool is_shm_ref(const json& value);

// A segment name is only ever produced by Kiln: [A-Za-z0-9._-], at most 200 bytes.
bool valid_shm_name(const std::string& name);

}  // namespace kiln::ipc
