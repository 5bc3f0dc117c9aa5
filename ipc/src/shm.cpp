#include "kiln/ipc/shm.h"

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "kiln/error.h"

namespace bip = boost::interprocess;

namespace kiln::ipc {

std::string shm_prefix(const std::string& instance) { return "kiln." + instance + "."; }
std::string shm_client_prefix(const std::string& instance) { return shm_prefix(instance) + "c."; }

bool valid_shm_name(const std::string& name) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return name != "." && name != "..";
}

void shm_write(const std::string& name, const void* data, size_t size) {
  if (!valid_shm_name(name)) throw Error("shared memory name '" + name + "' is not valid");
  try {
    bip::shared_memory_object segment(bip::create_only, name.c_str(), bip::read_write, 
                                      bip::permissions(0600));
    try {
      segment.truncate(static_cast<bip::offset_t>(size));
      if (size > 0) {
        bip::mapped_region region(segment, bip::read_write);
        std::memcpy(region.get_address(), data, size);
      }
    } catch (...) {
      bip::shared_memory_object::remove(name.c_str());
      throw;
    }
  } catch (const bip::interprocess_exception& e) {
    throw Error("shared memory segment " + name + ": cannot be created: " + e.what());
  }
}

std::vector<uint8_t> shm_read(const std::string& name, size_t size) {
  if (!valid_shm_name(name)) throw Error("shared memory name '" + name + "' is not valid");
  try {
    bip::shared_memory_object segment(bip::open_only, name.c_str(), bip::read_only);
    bip::offset_t actual = 0;
    if (!segment.get_size(actual) || static_cast<uint64_t>(actual) != size) {
      throw Error("shared memory segment " + name + " holds " + std::to_string(actual) +
                  " bytes, the message says " + std::to_string(size));
    }
    std::vector<uint8_t> out(size);
    if (size > 0) {
      bip::mapped_region region(segment, bip::read_only);
      std::memcpy(out.data(), region.get_address(), size);
    }
    return out;
  } catch (const bip::interprocess_exception& e) {
    throw Error("shared memory segment " + name + ": cannot be read: " + e.what());
  }
}

void shm_check_foreign(const std::string& name, uint64_t size) {
  if (!valid_shm_name(name)) throw Error("shared memory name '" + name + "' is not valid");
  struct stat st {};
  // lstat: a symlink planted in /dev/shm is refused, not followed.
  if (lstat(("/dev/shm/" + name).c_str(), &st) != 0) {
    throw Error("shared memory segment " + name + " does not exist");
  }
  if (!S_ISREG(st.st_mode)) throw Error("shared memory segment " + name + " is not a regular segment");
  if (st.st_uid != geteuid()) throw Error("shared memory segment " + name + " belongs to another user");
  if (static_cast<uint64_t>(st.st_size) != size) {
    throw Error("shared memory segment " + name + " holds " + std::to_string(st.st_size) +
                " bytes, the message says " + std::to_string(size));
  }
}

double shm_age_s(const std::string& name) {
  if (!valid_shm_name(name)) return -1;
  struct stat st {};
  if (stat(("/dev/shm/" + name).c_str(), &st) != 0) return -1;
  timespec now {};
  clock_gettime(CLOCK_REALTIME, &now);
  return double(now.tv_sec - st.st_mtim.tv_sec) + (now.tv_nsec - st.st_mtim.tv_nsec) * 1e-9;
}

bool shm_remove(const std::string& name) {
  if (!valid_shm_name(name)) return false;
  return bip::shared_memory_object::remove(name.c_str());
}

std::vector<std::string> shm_list(const std::string& prefix) {
  std::vector<std::string> out;
  DIR* dir = opendir("/dev/shm");
  if (!dir) return out;
  while (dirent* e = readdir(dir)) {
    std::string n = e->d_name;
    if (n.compare(0, prefix.size(), prefix) == 0) out.push_back(n);
  }
  closedir(dir);
  return out;
}

size_t shm_remove_all(const std::string& prefix) {
  size_t n = 0;
  for (const auto& name : shm_list(prefix)) n += shm_remove(name) ? 1 : 0;
  return n;
}

json shm_ref(const std::string& name, size_t size) {
  return json{{"shm", name}, {"size", size}};
}

bool is_shm_ref(const json& value) {
  return value.is_object() && value.size() == 2 && value.contains("shm") &&
         value["shm"].is_string() && value.contains("size") && value["size"].is_number_unsigned();
}

}  // namespace kiln::ipc
