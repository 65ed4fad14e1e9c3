// drop_ingest_rule.hpp — the channel's completion rule, kept in state/ingest.
//
// When a file a writer dropped into incoming/ counts as complete (settled,
// or marked: IngestOptions) is the channel's, not each consumer's: a writer
// follows one protocol, and every consumer must read it the same way. So
// the creator's IngestOptions are written to state/ingest,
//
//   completion marker        settle | marker
//   settle_ms 2000
//   marker_suffix .done
//
// and every opener follows that file, whatever its own options say (as an
// MPMC ring's policy is its creator's). A channel made before the file
// existed gets it from the first opener allowed to create.
#pragma once

#include <string>
#include <system_error>

#include "drop/drop_tree.hpp"
#include "ringdrop/drop_types.hpp"
#include "ringdrop/result.hpp"

namespace ringdrop::detail {

/// Reads state/ingest into t.options.ingest, or writes it from them when it
/// is missing and t.options.create. corrupted when the file cannot be read
/// as a rule; invalid_argument for a marker suffix that cannot be one.
std::error_code settle_ingest_rule(DropTree& t);

/// The file's text for `o`, and back (corrupted when malformed; the detail
/// names `where`).
std::string format_ingest_rule(const IngestOptions& o);
Result<IngestOptions> parse_ingest_rule(std::string_view text, const std::string& where);

}  // namespace ringdrop::detail
