/*
 * The NFSv4 operation table: one entry per opcode with the handler, the flags the generic
 * COMPOUND loop checks, the name (for logs, traces and metrics), a reply-size estimate and
 * the minor versions the op exists in.
 *
 * optable_init() fills every entry of the protocol (names, flags, sizes, versions) with no
 * handler; the server then installs the handlers it implements with optable_set_handler().
 * An op without a handler is answered NFS4ERR_NOTSUPP by the engine: there are no stub
 * handlers. Tests build their own table the same way and install toy handlers.
 */
#ifndef SLUICE_OPTABLE_H
#define SLUICE_OPTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "nfs4.h"

struct compound;

/*
 * A handler runs one op. It reads its arguments from arg (decoded, freed by the engine after
 * the op), fills res (res->resop is set; memory it points to must come from
 * compound_alloc(), it is not freed one by one) and returns the op's status; the engine
 * writes that status into the result. It may instead submit asynchronous work and return
 * OP_PARKED: the compound then waits until compound_resume(c, status) is called (from the
 * completion, on the same thread), which finishes this op and carries on with the next.
 */
typedef nfsstat4 (*op_handler_fn)(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res);

/* Not a protocol status: "async work submitted, compound_resume() will finish this op". */
#define OP_PARKED ((nfsstat4)0x7fffffff)

enum op_flags {
	OPF_NEEDS_FH = 1u << 0,          /* needs a current filehandle (else NOFILEHANDLE) */
	OPF_MODIFIES = 1u << 1,          /* changes state: never run it if its reply will not fit */
	OPF_ALLOWED_FIRST = 1u << 2,     /* 4.1+: may start a COMPOUND without SEQUENCE */
	OPF_SESSION_CACHEABLE = 1u << 3, /* result may go into the session slot's reply cache */
	OPF_CHANGES_FS = 1u << 4,        /* may change a file's data or attributes, or a
	                                  * directory's entries (compound_config.on_change) */
};

#define OPTABLE_SIZE ((uint32_t)OP_REMOVEXATTR + 1) /* opcodes 3 .. 75; 0..2 unused */

struct op_desc {
	op_handler_fn handler; /* NULL: not implemented, NFS4ERR_NOTSUPP */
	uint32_t flags;        /* enum op_flags */
	const char *name;      /* "READ"; NULL for an opcode the protocol does not define */
	uint32_t rsize;        /* reply-size estimate: bytes this op adds to the reply, opcode
	                        * and status included. An upper bound for fixed-size results;
	                        * for variable ones the usual size, with READ data (out of line)
	                        * and READDIR entries (clipped by the handler to
	                        * compound_reply_room()) left out. The engine checks it before
	                        * the op and the real size after it is encoded. */
	uint8_t min_minor;     /* first minor version that has the op */
	uint8_t max_minor;     /* last minor version that has it (4.0-only ops: 0) */
};

struct op_table {
	struct op_desc ops[OPTABLE_SIZE];
};

/* Fill t with the protocol's ops (NFSv4.0 .. 4.2), all without handlers. */
void optable_init(struct op_table *t);

/* Install (or with NULL remove) the handler of opcode op. Returns false for an opcode the
 * table does not hold. */
bool optable_set_handler(struct op_table *t, uint32_t op, op_handler_fn handler);

/* The entry of opcode op, or NULL when the protocol defines no such op. */
const struct op_desc *optable_lookup(const struct op_table *t, uint32_t op);

/* The op's name for logs: "READ", "ILLEGAL" for OP_ILLEGAL, "UNKNOWN" for anything else. */
const char *optable_name(const struct op_table *t, uint32_t op);

#endif
