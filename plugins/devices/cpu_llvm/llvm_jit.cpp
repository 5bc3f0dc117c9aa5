// ORC LLJIT: links compiled kernel objects into the process. One of the two files that include
// LLVM headers (with llvm_compile.cpp).
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>

#include <mutex>
#include <unordered_map>

#include "errors.h"
#include "llvm_backend.h"

namespace kiln::cpu {

namespace {
std::string message(llvm::Error e) { return llvm::toString(std::move(e)); }
}  // namespace

struct Jit::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::mutex mu;
  std::unordered_map<uint64_t, llvm::orc::JITDylib*> dylibs;
  uint64_t next_handle = 1;
};

Jit::Jit() : impl_(std::make_unique<Impl>()) {
  host_info();  // initializes the native target
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) fail(KILN_ERR_NO_DEVICE, "cpu_llvm: cannot describe the host: " + message(jtmb.takeError()));
  // JITLink, not LLJIT's default RuntimeDyld on x86-64 ELF: RuntimeDyld puts the GOT entries of
  // calls into libm/libmvec in sections mapped on their own, which can land more than 2 GiB
  // from the code; the small code model's 32-bit displacement then wrapped silently and a kernel
  // jumped through a wild pointer now and then. JITLink keeps each object's sections, GOT and
  // stubs in one allocation.
  auto jit = llvm::orc::LLJITBuilder()
                 .setJITTargetMachineBuilder(std::move(*jtmb))
                 .setObjectLinkingLayerCreator([](llvm::orc::ExecutionSession& es, const llvm::Triple&) {
                   return std::make_unique<llvm::orc::ObjectLinkingLayer>(es);
                 })
                 .create();
  if (!jit) fail(KILN_ERR_NO_DEVICE, "cpu_llvm: cannot create the JIT: " + message(jit.takeError()));
  impl_->jit = std::move(*jit);
  // libm and friends: kernels call exp2f, sinf, powf... from the host process.
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      impl_->jit->getDataLayout().getGlobalPrefix());
  if (!gen) fail(KILN_ERR_NO_DEVICE, "cpu_llvm: cannot expose process symbols: " + message(gen.takeError()));
  impl_->jit->getMainJITDylib().addGenerator(std::move(*gen));
  if (host_info().libmvec) {  // vector math variants (see llvm_compile.cpp)
    auto mvec = llvm::orc::DynamicLibrarySearchGenerator::Load(
        "libmvec.so.1", impl_->jit->getDataLayout().getGlobalPrefix());
    if (!mvec) fail(KILN_ERR_NO_DEVICE, "cpu_llvm: cannot load libmvec: " + message(mvec.takeError()));
    impl_->jit->getMainJITDylib().addGenerator(std::move(*mvec));
  }
}

Jit::~Jit() = default;

Jit::Loaded Jit::load(const void* object, size_t size, const std::string& symbol,
                      const std::string& info_symbol) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& es = impl_->jit->getExecutionSession();
  const uint64_t handle = impl_->next_handle++;
  llvm::orc::JITDylib& jd = es.createBareJITDylib("kiln_program_" + std::to_string(handle));
  jd.addToLinkOrder(impl_->jit->getMainJITDylib());
  auto drop = [&](const std::string& why) {
    llvm::consumeError(es.removeJITDylib(jd));
    fail(KILN_ERR_COMPILE, "cpu_llvm: " + why);
  };
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(static_cast<const char*>(object), size), "kiln_kernel.o");
  if (auto err = impl_->jit->addObjectFile(jd, std::move(buffer)))
    drop("the kernel object does not load: " + message(std::move(err)));
  auto fn = impl_->jit->lookup(jd, symbol);
  if (!fn) drop("cannot link kernel symbol '" + symbol + "': " + message(fn.takeError()));
  auto info = impl_->jit->lookup(jd, info_symbol);
  if (!info) drop("kernel object lacks '" + info_symbol + "': " + message(info.takeError()));
  impl_->dylibs[handle] = &jd;
  return {fn->toPtr<void*>(), info->toPtr<const int64_t*>(), handle};
}

void Jit::unload(uint64_t handle) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->dylibs.find(handle);
  if (it == impl_->dylibs.end()) return;
  llvm::consumeError(impl_->jit->getExecutionSession().removeJITDylib(*it->second));
  impl_->dylibs.erase(it);
}

}  // namespace kiln::cpu
