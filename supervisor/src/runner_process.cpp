// Boost.Process lives here and nowhere else.
#include "runner_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <filesystem>

#include "kiln/error.h"

namespace bp = boost::process;

namespace kiln::supervisor {

struct RunnerProcess::Impl {
  bp::child child;
  std::optional<std::string> exit_text;
};

RunnerProcess::RunnerProcess(const std::string& exe, const std::vector<std::string>& args)
    : impl_(std::make_unique<Impl>()) {
  std::error_code ec;
  impl_->child = bp::child(bp::exe = exe, bp::args = args, bp::std_in < bp::null, ec);
  if (ec || !impl_->child.valid()) {
    throw Error("cannot start runner " + exe + ": " + ec.message());
  }
}

RunnerProcess::~RunnerProcess() {
  if (!impl_->exit_text) {
    kill();
    std::error_code ec;
    impl_->child.wait(ec);
  }
}

int RunnerProcess::pid() const { return impl_->child.id(); }

std::optional<std::string> RunnerProcess::exited() {
  if (impl_->exit_text) return impl_->exit_text;
  // waitpid directly: Boost.Process's running() folds signals into an exit code.
  int status = 0;
  pid_t r = waitpid(impl_->child.id(), &status, WNOHANG);
  if (r == 0) return std::nullopt;
  if (r < 0) {
    impl_->exit_text = "gone";
  } else if (WIFSIGNALED(status)) {
    impl_->exit_text = "killed by signal " + std::to_string(WTERMSIG(status));
  } else {
    impl_->exit_text = "exit code " + std::to_string(WEXITSTATUS(status));
  }
  impl_->child.detach();  // reaped here; Boost must not wait or kill again
  return impl_->exit_text;
}

void RunnerProcess::kill() {
  if (!impl_->exit_text) ::kill(impl_->child.id(), SIGKILL);
}

void RunnerProcess::stop() {
  if (!impl_->exit_text) ::kill(impl_->child.id(), SIGTERM);
}

std::string executable_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

}  // namespace kiln::supervisor
