// How a Session waits for its client and reads it (session.hpp): the waits park the
// session when they can (net::Connection::park: no coroutine frame while the client is
// quiet; resume() in session.cpp continues it), fall back to a coroutine read when input
// is buffered or TLS must write first, and IDLE's wait adds the mailbox's change
// (the process's one ChangeNotifier) to client input. Input is inflated here under
// COMPRESS=DEFLATE and fed to the pure command parser.
#include <chrono>
#include <string>
#include <utility>

#include "cmd/commands.hpp"
#include "session.hpp"
#include "tern/net/change_notifier.hpp"

namespace tern::imapd {

namespace {

// Inflated input is bounded per read like plain input (the parser bounds the rest).
constexpr std::size_t kMaxInflatedChunk = 4u << 20;

}  // namespace

asio::awaitable<bool> Session::read_more() {
  push_output(false);
  release_output();
  std::string in;
  net::ReadStatus st = co_await c_.read_some(in);
  if (st != net::ReadStatus::Ok) {
    if (st == net::ReadStatus::Timeout) {
      // RFC 9051 §5.4 autologout: say why before closing.
      untagged("BYE Autologout; idle for too long");
      end_reason_ = "idle timeout";
    } else if (st == net::ReadStatus::Eof) {
      end_reason_ = state_ == State::Logout ? "logout" : "eof";
    } else {
      end_reason_ = "read error";
    }
    close_ = true;
    co_return false;
  }
  bool fed = feed_input(in);
  co_return fed;
}

asio::awaitable<std::optional<std::string>> Session::read_line(std::size_t max) {
  for (;;) {
    std::string line;
    auto st = parser_.take_line(line, max);
    if (st == imap::CommandParser::LineStatus::Line) co_return line;
    if (st == imap::CommandParser::LineStatus::TooLong) co_return std::string("\x01toolong");
    bool ok = co_await read_more();
    if (!ok) co_return std::nullopt;
  }
}

asio::awaitable<bool> Session::wait_input(std::chrono::milliseconds d, bool& closed) {
  closed = false;
  if (parser_.has_input()) co_return true;
  c_.set_timeout(d);
  push_output(false);
  release_output();
  std::string in;
  net::ReadStatus st = co_await c_.read_some(in);
  c_.set_timeout(cfg().imap.idle_timeout);
  if (st == net::ReadStatus::Timeout) co_return false;
  if (st != net::ReadStatus::Ok) {
    closed = true;
    close_ = true;
    end_reason_ = st == net::ReadStatus::Eof ? "eof" : "read error";
    co_return false;
  }
  if (deflate_) {
    inflated_.clear();
    if (!deflate_->decompress(in, inflated_, kMaxInflatedChunk)) {
      closed = true;
      close("bad compressed data");
      co_return false;
    }
    parser_.feed(inflated_);
  } else {
    parser_.feed(in);
  }
  co_return true;
}

bool Session::feed_input(const std::string& in) {
  if (deflate_) {
    inflated_.clear();
    if (!deflate_->decompress(in, inflated_, kMaxInflatedChunk)) {
      untagged("BYE Corrupt compressed stream");
      close("bad compressed data");
      return false;
    }
    parser_.feed(inflated_);
  } else {
    parser_.feed(in);
  }
  return true;
}

asio::awaitable<Session::Wake> Session::wait_input_or_change(std::chrono::steady_clock::time_point deadline) {
  using Clock = std::chrono::steady_clock;
  if (parser_.has_input()) co_return Wake::input;
  if (c_.stopping()) co_return Wake::stopping;
  push_output(false);
  release_output();
  if (!(co_await c_.flush())) {
    close_ = true;
    end_reason_ = "write error";
    co_return Wake::closed;
  }
  const auto now = Clock::now();
  if (now >= deadline) co_return Wake::timeout;
  c_.set_timeout(deadline - now);
  std::string in;
  net::ReadStatus st = net::ReadStatus::Timeout;
  bool changed = false, stopped = false;
  net::ChangeNotifier* n = svc_->notifier();
  if (n && state_ == State::Selected && mailbox) {
    // One wait on the socket, the deadline and the mailbox's change (no coroutine per
    // side: 10,000 idle sessions, issue 17).
    auto ex = co_await asio::this_coro::executor;
    auto sub = n->subscribe(ex, mailbox->info.id, mailbox->highestmodseq);
    st = co_await c_.read_some_or_wake(in, sub->timer());
    using S = net::ChangeNotifier::WaitResult::Status;
    const auto w = sub->finish();
    changed = w.status == S::changed || w.status == S::gone;
    stopped = w.status == S::stopped;
    if (st == net::ReadStatus::Ok && in.empty()) st = net::ReadStatus::Timeout;  // woken
  } else {
    st = co_await c_.read_some(in);
  }
  c_.set_timeout(cfg().imap.idle_timeout);
  if (!in.empty() || st == net::ReadStatus::Ok) {
    if (!feed_input(in)) co_return Wake::closed;
    co_return Wake::input;
  }
  if (c_.has_buffered_input()) co_return Wake::input;  // taken into the framer by the cancelled read
  if (changed) co_return Wake::change;
  if (stopped || c_.stopping()) co_return Wake::stopping;
  if (st == net::ReadStatus::Timeout) co_return Clock::now() >= deadline ? Wake::timeout : Wake::change;
  close_ = true;
  end_reason_ = st == net::ReadStatus::Eof ? "eof" : "read error";
  co_return Wake::closed;
}

net::ResumeFn Session::resume_fn() {
  auto self = shared_from_this();
  // Not a coroutine lambda (tests/coro: captures of a coroutine lambda dangle): it
  // returns the member coroutine, and the std::function keeps the session alive.
  return [self](net::ParkWake why) { return self->resume(why); };
}

asio::awaitable<bool> Session::flush_before_wait() {
  push_output(false);
  if (c_.queued_output() > 0) {
    bool sent = co_await c_.flush();
    if (!sent) {
      close_ = true;
      end_reason_ = "write error";
      co_return false;
    }
  }
  release_output();
  co_return true;
}

asio::awaitable<bool> Session::take_buffered_input() {
  std::string in;
  net::ReadStatus st = co_await c_.read_some(in);  // buffered by park(): no wait
  if (st != net::ReadStatus::Ok) {
    close_ = true;
    end_reason_ = "read error";
    co_return false;
  }
  bool fed = feed_input(in);
  co_return fed;
}

void Session::autologout() {
  // RFC 9051 §5.4 autologout: say why before closing.
  untagged("BYE Autologout; idle for too long");
  end_reason_ = "idle timeout";
  close_ = true;
}

asio::awaitable<bool> Session::wait_command(bool& parked) {
  parked = false;
  bool ready = co_await flush_before_wait();
  if (!ready) co_return false;
  const net::ParkResult r = c_.park(nullptr, resume_fn());
  if (r == net::ParkResult::parked) {
    parked_ = true;
    parked = true;
    co_return true;
  }
  if (r == net::ParkResult::input) {
    bool fed = co_await take_buffered_input();
    co_return fed;
  }
  if (r == net::ParkResult::busy) {
    bool more = co_await read_more();
    co_return more;
  }
  close_ = true;
  end_reason_ = r == net::ParkResult::eof ? (state_ == State::Logout ? "logout" : "eof") : "read error";
  co_return false;
}

void Session::begin_idle(std::string tag, std::chrono::steady_clock::time_point deadline) {
  idle_ = true;
  idle_tag_ = std::move(tag);
  idle_deadline_ = deadline;
  pending_wake_.reset();
}

void Session::end_idle() {
  idle_ = false;
  idle_sub_.reset();
  pending_wake_.reset();
  std::string().swap(idle_tag_);
}

asio::awaitable<bool> Session::idle_loop() {
  while (idle_ && !close_) {
    Wake w = Wake::input;
    if (pending_wake_) {
      w = *pending_wake_;
      pending_wake_.reset();
    } else {
      bool parked = false;
      w = co_await idle_wait(parked);
      if (parked) co_return true;
    }
    co_await idle_step(*this, w);
  }
  end_idle();
  c_.set_timeout(cfg().imap.idle_timeout);
  if (errors_ >= cfg().limits.error_limit && !close_) {
    untagged("BYE Too many invalid commands");
    close("error limit");
  }
  co_return false;
}

asio::awaitable<Session::Wake> Session::idle_wait(bool& parked) {
  using Clock = std::chrono::steady_clock;
  parked = false;
  if (parser_.has_input()) co_return Wake::input;
  if (c_.stopping()) co_return Wake::stopping;
  bool ready = co_await flush_before_wait();
  if (!ready) co_return Wake::closed;
  const auto now = Clock::now();
  if (now >= idle_deadline_) co_return Wake::timeout;
  c_.set_timeout(idle_deadline_ - now);
  net::ChangeNotifier* n = svc_->notifier();
  if (n && state_ == State::Selected && mailbox && !idle_sub_) {
    auto ex = co_await asio::this_coro::executor;
    idle_sub_ = n->subscribe(ex, mailbox->info.id, mailbox->highestmodseq);
  }
  asio::steady_timer* wake = idle_sub_ ? &idle_sub_->timer() : nullptr;
  const net::ParkResult r = c_.park(wake, resume_fn());
  if (r == net::ParkResult::parked) {
    parked_ = true;
    parked = true;
    co_return Wake::input;  // not used: resume() brings the wake
  }
  if (r == net::ParkResult::input) {
    bool fed = co_await take_buffered_input();
    if (!fed) co_return Wake::closed;
    co_return Wake::input;
  }
  if (r == net::ParkResult::busy) {
    // TLS wants to write before it reads: the coroutine wait handles that.
    idle_sub_.reset();
    Wake w = co_await wait_input_or_change(idle_deadline_);
    co_return w;
  }
  close_ = true;
  end_reason_ = r == net::ParkResult::eof ? "eof" : "read error";
  co_return Wake::closed;
}

}  // namespace tern::imapd
