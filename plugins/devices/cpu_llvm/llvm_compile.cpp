// LLVM IR text -> optimized object file for the host CPU. One of the two files that include
// LLVM headers (with llvm_jit.cpp).
#include <llvm/ADT/StringMap.h>
#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/AsmParser/Parser.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/Triple.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <dlfcn.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <mutex>

#include "errors.h"
#include "kiln/env.h"
#include "llvm_backend.h"
#include "text_cat.h"

namespace kiln::cpu {
namespace {

// ---- LLVM fatal errors -------------------------------------------------------------------
// LLVM reports some backend failures with report_fatal_error, which would end the process.
// While a compile runs on a thread, the handler jumps back to it instead; the compile is
// reported as KILN_ERR_COMPILE (the objects of the abandoned compile leak: a rare path).
thread_local std::jmp_buf* t_fatal_jump = nullptr;
thread_local char t_fatal_reason[512];

void on_llvm_fatal(void*, const char* reason, bool) {
  if (t_fatal_jump == nullptr) return;  // not ours: LLVM's default exit follows
  std::snprintf(t_fatal_reason, sizeof t_fatal_reason, "%s", reason ? reason : "");
  std::longjmp(*t_fatal_jump, 1);
}

struct FatalHandlerInstall {
  FatalHandlerInstall() { llvm::install_fatal_error_handler(&on_llvm_fatal, nullptr); }
  // Unloading the plugin must not leave LLVM pointing at unmapped code.
  ~FatalHandlerInstall() { llvm::remove_fatal_error_handler(); }
};

void init_llvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    static FatalHandlerInstall fatal_handler;
  });
}

// libmvec's vector variants (x86-64 vector function ABI: b = SSE, d = AVX2, e = AVX-512) of
// the libm functions kernels call. Only those the host CPU can run and libmvec exports are
// handed to LLVM (vector_functions()).
struct VecFn {
  const char* scalar;  // LLVM's name of the scalar function
  const char* vector;
  unsigned lanes;
  const char* isa;     // host feature the variant needs
};
const VecFn kLibmvec[] = {
    {"llvm.exp2.f32", "_ZGVbN4v_exp2f", 4, "sse4.1"},   {"llvm.exp2.f32", "_ZGVdN8v_exp2f", 8, "avx2"},
    {"llvm.exp2.f32", "_ZGVeN16v_exp2f", 16, "avx512f"}, {"llvm.log2.f32", "_ZGVbN4v_log2f", 4, "sse4.1"},
    {"llvm.log2.f32", "_ZGVdN8v_log2f", 8, "avx2"},      {"llvm.log2.f32", "_ZGVeN16v_log2f", 16, "avx512f"},
    {"llvm.sin.f32", "_ZGVbN4v_sinf", 4, "sse4.1"},      {"llvm.sin.f32", "_ZGVdN8v_sinf", 8, "avx2"},
    {"llvm.sin.f32", "_ZGVeN16v_sinf", 16, "avx512f"},   {"llvm.pow.f32", "_ZGVbN4vv_powf", 4, "sse4.1"},
    {"llvm.pow.f32", "_ZGVdN8vv_powf", 8, "avx2"},       {"llvm.pow.f32", "_ZGVeN16vv_powf", 16, "avx512f"},
    {"llvm.exp2.f64", "_ZGVbN2v_exp2", 2, "sse4.1"},     {"llvm.exp2.f64", "_ZGVdN4v_exp2", 4, "avx2"},
    {"llvm.exp2.f64", "_ZGVeN8v_exp2", 8, "avx512f"},    {"llvm.log2.f64", "_ZGVbN2v_log2", 2, "sse4.1"},
    {"llvm.log2.f64", "_ZGVdN4v_log2", 4, "avx2"},       {"llvm.log2.f64", "_ZGVeN8v_log2", 8, "avx512f"},
    {"llvm.sin.f64", "_ZGVbN2v_sin", 2, "sse4.1"},       {"llvm.sin.f64", "_ZGVdN4v_sin", 4, "avx2"},
    {"llvm.sin.f64", "_ZGVeN8v_sin", 8, "avx512f"},      {"llvm.pow.f64", "_ZGVbN2vv_pow", 2, "sse4.1"},
    {"llvm.pow.f64", "_ZGVdN4vv_pow", 4, "avx2"},        {"llvm.pow.f64", "_ZGVeN8vv_pow", 8, "avx512f"},
};

// The usable libmvec variants; computed once with the host info.
std::vector<llvm::VecDesc>& vector_functions() {
  static std::vector<llvm::VecDesc> fns;
  return fns;
}

void find_libmvec(const llvm::StringMap<bool>& features, HostInfo& h) {
  void* lib = dlopen("libmvec.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return;
  for (const VecFn& f : kLibmvec) {
    auto it = features.find(f.isa);
    if (it == features.end() || !it->second || dlsym(lib, f.vector) == nullptr) continue;
    vector_functions().push_back({f.scalar, f.vector, llvm::ElementCount::getFixed(f.lanes)});
  }
  h.libmvec = !vector_functions().empty();
  // The handle stays open: the JIT resolves these symbols from libmvec (llvm_jit.cpp).
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

HostInfo detect_host() {
  init_llvm();
  HostInfo h;
  h.llvm_version = LLVM_VERSION_STRING;
  h.triple = llvm::sys::getProcessTriple();
  h.cpu = llvm::sys::getHostCPUName().str();
  llvm::StringMap<bool> map;
  std::vector<std::string> feats;
  if (llvm::sys::getHostCPUFeatures(map)) {
    for (const auto& f : map) feats.push_back(cat(f.second ? "+" : "-", f.first().str()));
  }
  std::sort(feats.begin(), feats.end());
  for (const auto& f : feats) h.features += (h.features.empty() ? "" : ",") + f;
  h.features_hash = fnv1a(h.cpu + ";" + h.features);
  auto has = [&](const char* f) { auto it = map.find(f); return it != map.end() && it->second; };
  llvm::Triple triple(h.triple);
  if (triple.isX86()) {
    if (has("avx512f")) h.isa = "avx512", h.vector_bytes = 64;
    else if (has("avx2")) h.isa = "avx2", h.vector_bytes = 32;
    else if (has("avx")) h.isa = "avx", h.vector_bytes = 32;
    else h.isa = "sse", h.vector_bytes = 16;
    find_libmvec(map, h);
    // KILN_CPU_VNNI=0 renders DOT4 without VPDPBUSD (to test that form on a VNNI host)
    const bool vnni_ok = !env::is_off("KILN_CPU_VNNI");
    h.vnni_512 = vnni_ok && has("avx512vnni") && has("avx512f");
    h.vnni_256 = vnni_ok && ((has("avx512vnni") && has("avx512vl")) || has("avxvnni"));
  } else if (triple.isAArch64()) {
    h.isa = "neon", h.vector_bytes = 16;
  } else {
    h.isa = "scalar", h.vector_bytes = 16;
  }
  return h;
}

// "  12 | text" for every line, so an error's line number can be found in the message.
std::string numbered(const std::string& text) {
  std::string out;
  size_t line = 1, start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    char num[16];
    std::snprintf(num, sizeof num, "%5zu | ", line++);
    out += num + text.substr(start, nl - start) + "\n";
    start = nl + 1;
  }
  return out;
}

[[noreturn]] void compile_error(const std::string& what, const std::string& text) {
  fail(KILN_ERR_COMPILE, "cpu_llvm: " + what + "\n--- LLVM IR (the kernel IR is in its header "
                         "comments) ---\n" + numbered(text));
}

std::unique_ptr<llvm::TargetMachine> host_target_machine() {
  const HostInfo& host = host_info();
  std::string err;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(host.triple, err);
  if (target == nullptr) fail(KILN_ERR_COMPILE, "cpu_llvm: no LLVM target for " + host.triple + ": " + err);
  llvm::TargetOptions options;  // IEEE semantics; fusion only where the IR allows it
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      host.triple, host.cpu, host.features, options, llvm::Reloc::PIC_, llvm::CodeModel::Small,
      llvm::CodeGenOpt::Aggressive));
  if (!tm) fail(KILN_ERR_COMPILE, "cpu_llvm: cannot create a target machine for " + host.cpu);
  return tm;
}

llvm::TargetLibraryInfoImpl library_info(const llvm::Module& m) {
  llvm::TargetLibraryInfoImpl tlii{llvm::Triple(m.getTargetTriple())};
  tlii.addVectorizableFunctions(vector_functions());
  return tlii;
}

void optimize(llvm::Module& m, llvm::TargetMachine& tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = true;
  pto.SLPVectorization = true;
  pto.LoopUnrolling = true;
  pto.LoopInterleaving = true;
  llvm::PassBuilder pb(&tm, pto);
  llvm::TargetLibraryInfoImpl tlii = library_info(m);
  fam.registerPass([&] { return llvm::TargetLibraryAnalysis(tlii); });
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(m, mam);
}

void emit(llvm::Module& m, llvm::TargetMachine& tm, llvm::CodeGenFileType kind,
          llvm::SmallVectorImpl<char>& out, const std::string& text) {
  llvm::raw_svector_ostream os(out);
  llvm::legacy::PassManager pm;
  // Code generation turns explicit vector EXP2/LOG2/SIN/POW into libmvec calls too.
  pm.add(new llvm::TargetLibraryInfoWrapperPass(library_info(m)));
  if (tm.addPassesToEmitFile(pm, os, nullptr, kind))
    compile_error("the target cannot emit this file type", text);
  pm.run(m);
}

struct CompileJob {
  const std::string& text;
  int debug_level;
  std::vector<char> object;
};

void compile_unguarded(CompileJob& job) {
  const std::string& text = job.text;
  llvm::LLVMContext ctx;
  llvm::SMDiagnostic diag;
  std::unique_ptr<llvm::Module> m =
      llvm::parseAssembly(llvm::MemoryBufferRef(text, "kernel.ll"), diag, ctx);
  if (!m) {
    compile_error("LLVM cannot parse the kernel: line " + std::to_string(diag.getLineNo()) + ":" +
                      std::to_string(diag.getColumnNo()) + ": " + diag.getMessage().str() +
                      "\n    " + diag.getLineContents().str(),
                  text);
  }
  std::string verify;
  llvm::raw_string_ostream vos(verify);
  if (llvm::verifyModule(*m, &vos)) compile_error("LLVM verifier: " + vos.str(), text);

  const HostInfo& host = host_info();
  std::unique_ptr<llvm::TargetMachine> tm = host_target_machine();
  m->setTargetTriple(host.triple);
  m->setDataLayout(tm->createDataLayout());
  const std::string width = std::to_string(host.vector_bytes * 8);
  for (llvm::Function& f : *m) {
    if (f.isDeclaration()) continue;
    f.addFnAttr("target-cpu", host.cpu);
    f.addFnAttr("target-features", host.features);
    // Vectors as wide as the caps report are legal and preferred (no 512 -> 2x256 split).
    f.addFnAttr("prefer-vector-width", width);
    f.addFnAttr("min-legal-vector-width", width);
  }
  optimize(*m, *tm);

  if (job.debug_level >= 5) {
    std::string ir;
    llvm::raw_string_ostream ios(ir);
    m->print(ios, nullptr);
    llvm::SmallVector<char, 0> asm_text;
    std::unique_ptr<llvm::Module> copy = llvm::CloneModule(*m);
    emit(*copy, *tm, llvm::CGFT_AssemblyFile, asm_text, text);
    std::fprintf(stderr, "--- cpu_llvm: optimized LLVM IR ---\n%s\n--- cpu_llvm: assembly ---\n%.*s\n",
                 ios.str().c_str(), int(asm_text.size()), asm_text.data());
  }

  llvm::SmallVector<char, 0> object;
  emit(*m, *tm, llvm::CGFT_ObjectFile, object, text);
  job.object.assign(object.begin(), object.end());
}

}  // namespace

const HostInfo& host_info() {
  static const HostInfo info = detect_host();
  return info;
}

std::vector<char> compile_to_object(const std::string& text, int debug_level) {
  init_llvm();
  CompileJob job{text, debug_level, {}};
  std::jmp_buf jump;
  if (setjmp(jump) == 0) {
    t_fatal_jump = &jump;
    try {
      compile_unguarded(job);
    } catch (...) {
      t_fatal_jump = nullptr;
      throw;
    }
    t_fatal_jump = nullptr;
    return std::move(job.object);
  }
  t_fatal_jump = nullptr;
  compile_error(std::string("LLVM fatal error: ") + t_fatal_reason, text);
}

}  // namespace kiln::cpu
