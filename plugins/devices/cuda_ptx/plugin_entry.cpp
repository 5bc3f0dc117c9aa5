// The C ABI of the cuda_ptx device: the kiln_device_api table and the plugin descriptor. Every
// entry runs inside guard() (abi_guard.h), so no C++ exception crosses into the caller.
#include <cstdlib>
#include <cstring>

#include "abi_guard.h"
#include "device.h"
#include "kiln/plugin.h"

using namespace kiln::cuda;

namespace {

int api_device_count(kiln_error_buf err) {
  int n = 0;
  guard(err, [&] {
    std::string why;
    n = device_count(&why);
    if (n == 0) write_error(err, "cuda_ptx: " + why);
  });
  return n;
}

kiln_status api_open(int index, kiln_device** out, kiln_error_buf err) {
  return guard(err, [&] {
    if (out == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: open: out is NULL");
    *out = nullptr;
    *out = handle_of(open_device(index));
  });
}

void api_close(kiln_device* dev) {
  char sink[1];
  guard({sink, sizeof sink}, [&] {
    if (dev != nullptr) close_device(checked(dev));
  });
}

void api_get_caps(kiln_device* dev, kiln_device_caps* caps) {
  char sink[1];
  guard({sink, sizeof sink}, [&] {
    if (caps != nullptr) fill_caps(checked(dev), caps);
  });
}

kiln_status api_synchronize(kiln_device* dev, kiln_error_buf err) {
  return guard(err, [&] { synchronize(checked(dev)); });
}

kiln_status api_alloc(kiln_device* dev, size_t bytes, kiln_buffer** out, kiln_error_buf err) {
  return guard(err, [&] {
    if (out == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: alloc: out is NULL");
    *out = nullptr;
    *out = reinterpret_cast<kiln_buffer*>(alloc_buffer(checked(dev), bytes));
  });
}

void api_free(kiln_device* dev, kiln_buffer* buf) {
  char sink[1];
  guard({sink, sizeof sink}, [&] {
    if (buf != nullptr) free_buffer(checked(dev), reinterpret_cast<Buffer*>(buf));
  });
}

kiln_status api_copy_in(kiln_device* dev, kiln_buffer* dst, size_t dst_offset, const void* src,
                        size_t bytes, kiln_error_buf err) {
  return guard(err, [&] {
    copy_in(checked(dev), checked(dst, "copy_in destination"), dst_offset, src, bytes);
  });
}

kiln_status api_copy_out(kiln_device* dev, void* dst, kiln_buffer* src, size_t src_offset,
                         size_t bytes, kiln_error_buf err) {
  return guard(err, [&] {
    copy_out(checked(dev), dst, checked(src, "copy_out source"), src_offset, bytes);
  });
}

kiln_status api_copy_device(kiln_device* dev, kiln_buffer* dst, size_t dst_offset, kiln_buffer* src,
                            size_t src_offset, size_t bytes, kiln_error_buf err) {
  return guard(err, [&] {
    copy_device(checked(dev), checked(dst, "copy_device destination"), dst_offset,
                checked(src, "copy_device source"), src_offset, bytes);
  });
}

// Device memory has no host address (caps.unified_memory is 0).
void* api_host_pointer(kiln_device*, kiln_buffer*) {
  return nullptr;
}

const char* api_compiler_id(kiln_device* dev) {
  Device* d = device_of(dev);
  return d != nullptr && d->magic == kDeviceMagic ? d->compiler_id.c_str() : "";
}

kiln_status api_render(kiln_device* dev, const kiln_kernel* kernel, char** out, size_t* out_len,
                       kiln_error_buf err) {
  return guard(err, [&] {
    if (out == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: render: out is NULL");
    *out = nullptr;
    std::string text = render(checked(dev), kernel);
    char* copy = static_cast<char*>(std::malloc(text.size() + 1));
    if (copy == nullptr) throw std::bad_alloc();
    std::memcpy(copy, text.c_str(), text.size() + 1);
    *out = copy;
    if (out_len != nullptr) *out_len = text.size();
  });
}

void api_free_text(kiln_device*, char* text) {
  std::free(text);
}

kiln_status api_compile(kiln_device* dev, const char* source, size_t source_len, void** blob,
                        size_t* blob_len, kiln_error_buf err) {
  return guard(err, [&] {
    if (blob == nullptr || blob_len == nullptr)
      fail(KILN_ERR_INVALID, "cuda_ptx: compile: blob or blob_len is NULL");
    *blob = nullptr;
    *blob_len = 0;
    std::vector<char> bytes = compile(checked(dev), source, source_len);
    void* copy = std::malloc(bytes.size());
    if (copy == nullptr) throw std::bad_alloc();
    std::memcpy(copy, bytes.data(), bytes.size());
    *blob = copy;
    *blob_len = bytes.size();
  });
}

void api_free_blob(kiln_device*, void* blob) {
  std::free(blob);
}

kiln_status api_load(kiln_device* dev, const void* blob, size_t blob_len, const char* kernel_name,
                     kiln_program** out, kiln_error_buf err) {
  return guard(err, [&] {
    if (out == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: load: out is NULL");
    *out = nullptr;
    *out = reinterpret_cast<kiln_program*>(load_program(checked(dev), blob, blob_len, kernel_name));
  });
}

void api_unload(kiln_device* dev, kiln_program* prog) {
  char sink[1];
  guard({sink, sizeof sink}, [&] {
    if (prog != nullptr) unload_program(checked(dev), reinterpret_cast<Program*>(prog));
  });
}

kiln_status api_launch(kiln_device* dev, const kiln_launch* l, double* time_s, kiln_error_buf err) {
  return guard(err, [&] { launch(checked(dev), l, time_s); });
}

kiln_status api_graph_create(kiln_device* dev, const kiln_launch* launches, uint32_t n,
                             kiln_graph** out, kiln_error_buf err) {
  return guard(err, [&] {
    if (out == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: graph_create: out is NULL");
    *out = nullptr;
    *out = reinterpret_cast<kiln_graph*>(create_graph(checked(dev), launches, n));
  });
}

kiln_status api_graph_launch(kiln_device* dev, kiln_graph* graph, const kiln_launch* launches,
                             uint32_t n, kiln_error_buf err) {
  return guard(err, [&] { launch_graph(checked(dev), checked(graph), launches, n); });
}

kiln_status api_read_begin(kiln_device* dev, kiln_buffer* src, size_t src_offset, size_t bytes,
                           uint64_t* ticket, kiln_error_buf err) {
  return guard(err, [&] {
    if (ticket == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: read_begin: ticket is NULL");
    *ticket = read_begin(checked(dev), checked(src, "read_begin source"), src_offset, bytes);
  });
}

kiln_status api_read_end(kiln_device* dev, uint64_t ticket, void* dst, size_t bytes,
                         kiln_error_buf err) {
  return guard(err, [&] { read_end(checked(dev), ticket, dst, bytes); });
}

void api_graph_destroy(kiln_device* dev, kiln_graph* graph) {
  char sink[1];
  guard({sink, sizeof sink}, [&] {
    if (graph != nullptr) destroy_graph(checked(dev), reinterpret_cast<Graph*>(graph));
  });
}

const kiln_device_api kApi = {
    sizeof(kiln_device_api),
    api_device_count,
    api_open,
    api_close,
    api_get_caps,
    api_synchronize,
    api_alloc,
    api_free,
    api_copy_in,
    api_copy_out,
    api_copy_device,
    api_host_pointer,
    api_compiler_id,
    api_render,
    api_free_text,
    api_compile,
    api_free_blob,
    api_load,
    api_unload,
    api_launch,
    api_graph_create,
    api_graph_launch,
    api_graph_destroy,
    api_read_begin,
    api_read_end,
};

const kiln_plugin_descriptor kDescriptor = {
    KILN_PLUGIN_DESCRIPTOR_VERSION, KILN_PLUGIN_DEVICE, "cuda_ptx", KILN_CUDA_PTX_VERSION,
    KILN_DEVICE_ABI_VERSION,        KILN_IR_VERSION,    &kApi,
};

const kiln_plugin_descriptor* cuda_ptx_entry() {
  return &kDescriptor;
}

}  // namespace

KILN_DECLARE_PLUGIN(cuda_ptx_entry);
