// ringdrop call SERVICE — one request/response from the shell, like grpcurl:
// the request from JSON, the reply printed as JSON, every failure by name.
#include <cstdio>

#include <capnp/dynamic.h>

#include "cli.hpp"
#include "ringdrop/rpc_client.hpp"

namespace ringdrop::cli {

namespace {

struct Args {
  std::string name;
  SchemaArgs schema;       // the request's type
  std::string reply_type;  // in the same file
  std::string json = "{}";
  std::string timeout = "5s";
  bool idempotent = false;
  std::vector<std::string> headers;
};

// How a call ended, by name, for the operator.
[[noreturn]] void call_failed(std::error_code ec, const Client& c, const Target& t, const std::string& timeout) {
  const std::string who = t.describe();
  if (ec == errc::timed_out || ec == errc::deadline_exceeded) {
    fail(Exit::timed_out, "call " + who + ": timed out: no reply within " + timeout);
  }
  if (ec == errc::peer_gone) fail(Exit::remote, "call " + who + ": the server is gone (it died or left before answering)");
  if (ec == errc::circuit_open) fail(Exit::remote, "call " + who + ": circuit open: the service failed recently, the call was not sent");
  if (ec == errc::remote_error) {
    const auto& e = c.last_remote_error();
    fail(Exit::remote, "call " + who + ": remote error " + std::to_string(e.code) + ": " + e.message);
  }
  if (ec == errc::unknown_type) fail(Exit::remote, "call " + who + ": the server does not handle this request type (unknown_type: " + last_error_detail() + ")");
  if (ec == errc::bad_message) fail(Exit::bad_input, "call " + who + ": a malformed reply, or one of another type (" + last_error_detail() + ")");
  fail(ec, "call " + who);
}

}  // namespace

void add_call(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("call", "One request/response from the shell: JSON in, JSON out");
  cmd->footer(
      "The request's type (--schema FILE --type NAME) and the reply's (--reply-type NAME, in the same file) are "
      "read from the schema at run time. Exit 5 when no reply came in time, 8 when the server answered with an "
      "error, was gone or the circuit was open (the message names which), 4 for JSON or a reply that do not fit.\n"
      "Example: ringdrop call pricing --schema pricing.capnp --type Ask --reply-type Quote "
      "--json '{\"symbol\": \"EURUSD\"}' --timeout 2s");
  auto a = std::make_shared<Args>();
  cmd->add_option("service", a->name, "The service (or its request ring)")->required();
  a->schema.add_to(cmd);
  cmd->add_option("--reply-type", a->reply_type, "The reply's struct in the same schema file")->required();
  cmd->add_option("--json", a->json, "The request as JSON (default {})");
  cmd->add_option("--timeout", a->timeout, "The call's deadline (default 5s)");
  cmd->add_flag("--idempotent", a->idempotent, "The request may be retried and is deduplicated by the server");
  cmd->add_option("--header", a->headers, "key=value into the request's envelope (repeatable)");
  cmd->callback([&g, a] {
    const auto req = a->schema.load();
    if (!req) fail(Exit::usage, "call needs --schema FILE and --type NAME (the request's type)");
    auto resp = ops::SchemaType::load(a->schema.file, a->reply_type, a->schema.imports);
    if (!resp) fail(resp.error(), "load type " + a->reply_type + " from " + a->schema.file);
    auto payload = req->encode_payload(a->json);
    if (!payload) fail(payload.error(), "encode the JSON as a " + a->schema.type);
    const auto kv = parse_headers(a->headers);
    std::vector<std::pair<std::string_view, std::string_view>> views(kv.begin(), kv.end());
    const Target t = resolve(a->name, g);
    if (t.kind == Target::Kind::channel) fail(Exit::usage, t.describe() + " is a drop channel: call a service");
    ClientOptions o;
    o.registry = g.inventory().registry;
    auto client = t.kind == Target::Kind::service ? Client::connect(t.service, o) : Client::connect(t.ring, o);
    if (!client) fail(client.error(), "connect to " + t.describe());
    CallOptions co;
    co.idempotent = a->idempotent;
    co.headers = views;
    const auto root = (*payload)->getRoot<capnp::AnyPointer>().asReader();
    auto reply = client->call_raw(
        req->type_id(), resp->type_id(), [&](Envelope::Builder env) { env.getPayload().set(root); },
        deadline_after(parse_duration(a->timeout)), co);
    if (!reply) call_failed(reply.error(), *client, t, a->timeout);
    const ops::Json j = ops::describe_message(reply->message(), &*resp);
    if (g.json) {
      print_json(j);
    } else {
      print_json(j.contains("payload") ? j["payload"] : j);
    }
  });
}

}  // namespace ringdrop::cli
