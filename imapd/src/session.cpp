#include "session.hpp"

#include <algorithm>
#include <utility>

#include "cmd/commands.hpp"
#include "tern/imap/response.hpp"
#include "tern/log/assert.hpp"
#include "tern/net/change_notifier.hpp"
#include "tern/log/log.hpp"

namespace tern::imapd {

namespace {

std::string upper(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

// Output capacity a session keeps between responses.
constexpr std::size_t kKeepOutput = 16 * 1024;

// Replies to pipelined commands are sent together when no further command is
// buffered, or once this much is queued: a client that sends commands with large
// answers (FETCH 1:*, SEARCH ALL) and never reads must not grow our memory; flush()
// then waits for it to read (backpressure).
constexpr std::size_t kMaxQueuedOutput = 256 * 1024;

}  // namespace

std::string_view state_name(State s) {
  switch (s) {
    case State::NotAuthenticated: return "not-authenticated";
    case State::Authenticated: return "authenticated";
    case State::Selected: return "selected";
    case State::Logout: return "logout";
  }
  return "?";
}

Session::Session(net::Connection& c, std::shared_ptr<ImapService> svc)
    : c_(c), svc_(std::move(svc)), parser_(preauth_limits(svc_->parser_limits())) {}

imap::ParserLimits Session::preauth_limits(imap::ParserLimits l) {
  // Before login no command takes a message (APPEND needs a login): every literal is
  // bounded by the command line, so a stranger cannot make us hold [limits]
  // message_size per connection.
  l.literal_max = std::min<std::uint64_t>(l.literal_max, l.line_max);
  return l;
}

void Session::enter_state(State s) {
  if (s == state_) return;
  // RFC 9051 §3: not authenticated -> authenticated <-> selected; any state -> logout,
  // which is final. Anything else is a bug in tern, never a client's doing.
  TERN_ASSERT(state_ != State::Logout);
  TERN_ASSERT(s == State::Logout || (state_ == State::NotAuthenticated && s == State::Authenticated) ||
              (state_ == State::Authenticated && s == State::Selected) ||
              (state_ == State::Selected && s == State::Authenticated));
  log::debug(c_.id(), "imap state {} -> {}", state_name(state_), state_name(s));
  if (s != State::Selected) mailbox.reset();
  // Between commands (LOGIN/AUTHENTICATE just ended): the next command is read with
  // the limits of its state.
  if (state_ == State::NotAuthenticated || s == State::NotAuthenticated)
    parser_.set_limits(s == State::NotAuthenticated ? preauth_limits(svc_->parser_limits()) : svc_->parser_limits());
  state_ = s;
}

void Session::untagged(std::string_view text) {
  out_ += "* ";
  out_ += text;
  out_ += "\r\n";
}

void Session::tagged(std::string_view tag, std::string_view status, std::string_view text) {
  out_ += tag;
  out_ += ' ';
  out_ += status;
  out_ += ' ';
  out_ += text;
  out_ += "\r\n";
  push_output(true);
}

void Session::bad(const imap::Command& c, std::string_view text) {
  ++errors_;
  tagged(c.tag, "BAD", text);
}

void Session::push_output(bool tagged_end) {
  if (out_.empty()) return;
  if (deflate_) {
    std::string z;
    deflate_->compress(out_, tagged_end, z);
    c_.write(z);
  } else {
    c_.write(out_);
  }
  out_.clear();
  // A large response (FETCH of a big body) leaves capacity behind: an idle session
  // keeps none of it.
  if (out_.capacity() > kKeepOutput) std::string().swap(out_);
}

asio::awaitable<void> Session::write_mime_cache() {
  if (mime_cache.pending.empty()) co_return;
  // The entries live in this coroutine frame until the job is done; the job captures
  // only pointers (run_blocking's rule 2 check).
  std::vector<std::pair<store::BlobId, std::string>> entries = std::move(mime_cache.pending);
  mime_cache.pending.clear();
  mime_cache.pending_bytes = 0;
  store::Store* st = &store();
  const auto* ents = &entries;
  auto job = [st, ents]() { return st->put_blob_meta(*ents); };
  auto r = co_await c_.run_blocking(std::move(job));
  if (r) {
    mime_cache.cached += static_cast<unsigned>(entries.size());
  } else {
    // Only a cache: the next command parses again.
    log::info(c_.id(), "imap structure cache not written: {}", r.error().message());
  }
}

void Session::release_output() {
  // Called before waiting for the client: with nothing queued, an idle session keeps
  // no output capacity (issue 17: 10,000 idle sessions; the LOGIN/SELECT replies left
  // ~0.7 KiB behind in each).
  if (out_.empty() && out_.capacity() > std::string().capacity()) std::string().swap(out_);
}

asio::awaitable<bool> Session::flush() {
  push_output(false);
  bool ok = co_await c_.flush();
  co_return ok;
}

bool Session::start_compress() {
  auto d = std::make_unique<DeflateStream>();
  if (!d->ok()) return false;
  deflate_ = std::move(d);
  return true;
}

std::string Session::capabilities() const {
  std::string c = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT";
  if (state_ == State::NotAuthenticated) {
    if (starttls_offered()) c += " STARTTLS";
    if (!plaintext_auth_ok()) {
      c += " LOGINDISABLED AUTH=SCRAM-SHA-256";
    } else {
      c += " AUTH=SCRAM-SHA-256 AUTH=PLAIN AUTH=LOGIN";
    }
    return c;
  }
  c += " CHILDREN UIDPLUS MOVE SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS"
       " CONDSTORE QRESYNC ESEARCH QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE STATUS=SIZE"
       " SORT SORT=DISPLAY THREAD=REFERENCES THREAD=ORDEREDSUBJECT BINARY";
  if (!compressing()) c += " COMPRESS=DEFLATE";
  return c;
}

void Session::enable_condstore() {
  if (condstore) return;
  condstore = true;
  if (state_ == State::Selected && mailbox)
    untagged("OK [HIGHESTMODSEQ " + std::to_string(mailbox->highestmodseq) + "] CONDSTORE enabled");
}

void Session::sync_mailbox(bool allow_expunge) {
  if (state_ != State::Selected || !mailbox) return;
  SyncOptions o;
  o.allow_expunge = allow_expunge;
  o.condstore = condstore;
  o.qresync = qresync;
  auto r = mailbox->sync(store(), out_, o);
  if (!r && r.error() == store::Errc::no_such_mailbox) {
    // The mailbox was deleted by another session: RFC 9051 §7.1 says the server
    // may close it; we answer BYE only if nothing else is possible, so drop to
    // Authenticated and tell the client.
    untagged("OK [CLOSED] Mailbox deleted by another session");
    enter_state(State::Authenticated);
  }
}

asio::awaitable<void> Session::claim_recent() {
  if (state_ != State::Selected || !mailbox || mailbox->readonly || !mailbox->track_recent) co_return;
  const std::uint64_t commit = store().last_commit();
  if (commit == recent_checked_commit_) co_return;
  // The peek is a read txn (fine on the io thread, as sync is); only a claim writes.
  auto mb = store().get_mailbox(mailbox->info.id);
  if (!mb) co_return;  // deleted: the sync after it says so
  recent_checked_commit_ = commit;
  if (mb->first_recent_uid >= mb->uidnext) co_return;
  store::Store* st = &store();
  store::MailboxId id = mb->id;
  auto job = [st, id]() { return st->claim_recent(id); };
  auto r = co_await c_.run_blocking(std::move(job));
  if (!r || state_ != State::Selected || !mailbox || mailbox->info.id != id) co_return;
  if (mailbox->add_claim(r->first, r->end) > 0)
    untagged(std::to_string(mailbox->recent_count()) + " RECENT");
}

asio::awaitable<void> Session::dispatch(imap::Command& cmd) {
  cmd_uid = false;
  std::string name = cmd.name;
  if (name == "UID") {
    if (cmd.args.empty() || !cmd.args[0].is_atom()) {
      bad(cmd, "UID needs a command");
      co_return;
    }
    name = upper(cmd.args[0].text);
    cmd.args.erase(cmd.args.begin());
    cmd_uid = true;
    cmd.name = name;
  }
  const CommandSpec* spec = find_command(name, cmd_uid);
  if (!spec) {
    bad(cmd, "Unknown command");
    co_return;
  }
  unsigned bit = 1u << static_cast<unsigned>(state_);
  if (!(spec->states & bit)) {
    if (state_ == State::NotAuthenticated) bad(cmd, "Log in first");
    else if (spec->states == kInSelected) bad(cmd, "No mailbox selected");
    else bad(cmd, "Command not allowed now");
    co_return;
  }
  if (cmd_uid && name == "EXPUNGE" && cmd.args.empty()) {
    bad(cmd, "UID EXPUNGE needs a UID set");
    co_return;
  }
  // New mail in the selected mailbox becomes \Recent here before the command syncs
  // (not for the commands that leave the mailbox).
  if (state_ == State::Selected && name != "SELECT" && name != "EXAMINE" && name != "CLOSE" &&
      name != "UNSELECT" && name != "LOGOUT")
    co_await claim_recent();
  co_await spec->fn(*this, cmd);
}

asio::awaitable<void> Session::run() {
  const std::string peer = c_.peer_ip() + ":" + std::to_string(c_.peer_port());
  log::session(c_.id(), peer, "imap connect listener={} tls={}", c_.listener(),
               c_.is_tls() ? c_.tls_info().version : "no");
  c_.set_timeout(cfg().imap.login_timeout);
  untagged("OK [CAPABILITY " + capabilities() + "] " + cfg().hostname + " tern IMAP ready");
  co_await loop();
  if (!parked_) co_await end();
}

asio::awaitable<void> Session::resume(net::ParkWake why) {
  using P = net::ParkWake;
  parked_ = false;
  if (idle_) {
    if (why == P::wake) {
      // The mailbox changed (or the notifier stopped): the subscription says which.
      Wake w = Wake::change;
      if (idle_sub_) {
        using S = net::ChangeNotifier::WaitResult::Status;
        const auto r = idle_sub_->finish();
        if (r.status == S::stopped) w = Wake::stopping;
      }
      idle_sub_.reset();
      pending_wake_ = w;
    } else if (why == P::timeout) {
      idle_sub_.reset();
      pending_wake_ = std::chrono::steady_clock::now() >= idle_deadline_ ? Wake::timeout : Wake::change;
    } else if (why == P::error) {
      close_ = true;
      end_reason_ = "read error";
      pending_wake_ = Wake::closed;
    }
    // P::input: idle_wait() reads it.
  } else if (why == P::timeout) {
    autologout();
  } else if (why == P::error) {
    close_ = true;
    end_reason_ = "read error";
  }
  co_await loop();
  if (!parked_) co_await end();
}

void Session::bad_tag(std::string_view tag, std::string_view text) {
  ++errors_;
  tagged(tag, "BAD", text);
}

asio::awaitable<void> Session::loop() {
  const unsigned error_limit = cfg().limits.error_limit;
  while (!close_) {
    if (idle_) {
      bool parked = co_await idle_loop();
      if (parked) co_return;
      continue;
    }
    if (c_.stopping() && !parser_.has_input()) {
      untagged("BYE Server shutting down");
      end_reason_ = "server shutting down";
      break;
    }
    imap::ParseEvent ev = parser_.next();
    using K = imap::ParseEvent::Kind;
    if (ev.kind == K::NeedMore) {
      bool parked = false;
      bool ok = co_await wait_command(parked);
      if (parked) co_return;
      if (!ok) break;
      continue;
    }
    if (ev.kind == K::Continue) {
      // RFC 9051 §7.5: every limit was checked; ask for the literal.
      write("+ Ready for literal data\r\n");
      bool ok = co_await flush();
      if (!ok) break;
      continue;
    }
    if (ev.kind == K::Bad || ev.kind == K::LiteralTooBig || ev.kind == K::Fatal) {
      ++errors_;
      std::string text = imap::safe_text(ev.text);
      std::string coded = ev.code.empty() ? text : "[" + ev.code + "] " + text;
      // RFC 9051 §7.1: a literal over the limit that was not sent yet is NO [TOOBIG];
      // one already on its way (LITERAL+) is BAD [TOOBIG] and the end (RFC 7888 §4).
      tagged(ev.tag, ev.kind == K::LiteralTooBig ? "NO" : "BAD", coded);
      log::info(c_.id(), "imap bad command: {}", text);
      if (ev.kind == K::Fatal) {
        untagged("BYE " + text);
        close(ev.code == "TOOBIG" ? "literal too large" : "line too long");
      } else if (errors_ >= error_limit) {
        untagged("BYE Too many invalid commands");
        close("error limit");
      }
      continue;
    }
    imap::Command& cmd = ev.command;
    if (spdlog::should_log(spdlog::level::debug)) {
      std::string shown = cmd.name == "LOGIN" || cmd.name == "AUTHENTICATE"
                              ? cmd.tag + " " + cmd.name + " " + std::string(log::masked)
                              : cmd.tag + " " + cmd.name;
      log::debug(c_.id(), "C: {}", shown);
    }
    unsigned errors_before = errors_;
    co_await dispatch(cmd);
    if (errors_ > errors_before && errors_ >= error_limit && !close_) {
      untagged("BYE Too many invalid commands");
      close("error limit");
    }
    if (state_ == State::Logout) close_ = true;
    if (state_ != State::NotAuthenticated) c_.set_timeout(cfg().imap.idle_timeout);
    // Pipelining: send replies when no further command is already buffered, or when
    // they pile up.
    if ((!parser_.has_input() && !c_.has_buffered_input()) || c_.queued_output() >= kMaxQueuedOutput) {
      bool ok = co_await flush();
      if (!ok) {
        end_reason_ = "write error";
        break;
      }
    }
    // What the command parsed goes to the store's cache after the reply is out.
    co_await write_mime_cache();
  }
}

asio::awaitable<void> Session::end() {
  const std::string peer = c_.peer_ip() + ":" + std::to_string(c_.peer_port());
  push_output(true);
  co_await c_.flush();
  log::session(c_.id(), peer, "imap disconnect user={} errors={} reason={} mime_parses={} mime_cache_hits={} mime_cached={}",
               user.empty() ? "-" : user, errors_, end_reason_, mime_cache.parses, mime_cache.cache_hits,
               mime_cache.cached);
}

}  // namespace tern::imapd
