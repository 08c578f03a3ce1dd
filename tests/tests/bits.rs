//! Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO),
//! compared byte for byte with redis-server 7.0, and their writes reaching a replica.

use tandem_tests::dataset::wait_same;
use tandem_tests::{Differential, Node};

#[test]
fn bit_commands_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    for cmd in [
        &["SETBIT", "b", "7", "1"][..],
        &["SETBIT", "b", "7", "1"],
        &["SETBIT", "b", "100", "1"],
        &["SETBIT", "b", "100", "0"],
        &["SETBIT", "b", "3", "2"],
        &["SETBIT", "b", "3", "x"],
        &["SETBIT", "b", "-1", "1"],
        &["SETBIT", "b", "4294967296", "1"],
        &["SETBIT", "b", "x", "1"],
        &["GET", "b"],
        &["STRLEN", "b"],
        &["OBJECT", "ENCODING", "b"],
        &["GETBIT", "b", "7"],
        &["GETBIT", "b", "6"],
        &["GETBIT", "b", "1000000"],
        &["GETBIT", "nope", "0"],
        &["GETBIT", "b", "-1"],
        &["SET", "s", "foobar"],
        &["GETBIT", "s", "1"],
        &["SETBIT", "s", "0", "1"],
        &["GET", "s"],
        &["SET", "n", "12"],
        &["SETBIT", "n", "7", "0"],
        &["GET", "n"],
        &["LPUSH", "list", "x"],
        &["SETBIT", "list", "0", "1"],
        &["GETBIT", "list", "0"],
        &["BITCOUNT", "list"],
        // BITCOUNT: bytes, bits, negative indexes, the missing-key shortcut.
        &["SET", "mykey", "foobar"],
        &["BITCOUNT", "mykey"],
        &["BITCOUNT", "mykey", "0", "0"],
        &["BITCOUNT", "mykey", "1", "1"],
        &["BITCOUNT", "mykey", "1", "1", "BYTE"],
        &["BITCOUNT", "mykey", "5", "30", "BIT"],
        &["BITCOUNT", "mykey", "-5", "-1", "BIT"],
        &["BITCOUNT", "mykey", "3", "3", "BIT"],
        &["BITCOUNT", "mykey", "-2", "-1"],
        &["BITCOUNT", "mykey", "-1", "-2"],
        &["BITCOUNT", "mykey", "-1", "-2", "FOO"],
        &["BITCOUNT", "mykey", "2", "1"],
        &["BITCOUNT", "mykey", "0", "100"],
        &["BITCOUNT", "mykey", "0"],
        &["BITCOUNT", "mykey", "0", "1", "FOO"],
        &["BITCOUNT", "mykey", "a", "1"],
        &["BITCOUNT", "mykey", "0", "1", "BIT", "x"],
        &["BITCOUNT", "nope", "a", "b"],
        &["SET", "empty", ""],
        &["BITCOUNT", "empty"],
        &["BITCOUNT", "empty", "0", "0"],
        // BITPOS.
        &[
            "BITFIELD", "p", "SET", "u8", "0", "0", "SET", "u8", "8", "255", "SET", "u8", "16",
            "240",
        ],
        &["BITPOS", "p", "1"],
        &["BITPOS", "p", "0"],
        &["BITPOS", "p", "1", "2"],
        &["BITPOS", "p", "0", "1"],
        &["BITPOS", "p", "0", "1", "1"],
        &["BITPOS", "p", "1", "-1"],
        &["BITPOS", "p", "1", "7", "15", "BIT"],
        &["BITPOS", "p", "0", "8", "15", "BIT"],
        &["BITPOS", "p", "0", "8", "19", "BIT"],
        &["BITPOS", "p", "0", "20", "23", "BIT"],
        &["BITPOS", "p", "1", "3", "5", "BIT"],
        &["BITPOS", "p", "0", "-3", "-1", "BIT"],
        &["BITPOS", "p", "1", "2", "1"],
        &["BITPOS", "p", "2"],
        &["BITPOS", "p", "x"],
        &["BITPOS", "p", "1", "0", "1", "FOO"],
        &["BITPOS", "p", "1", "x"],
        &["BITPOS", "nope", "1"],
        &["BITPOS", "nope", "0"],
        &["BITPOS", "nope", "3"],
        &["BITFIELD", "ones", "SET", "u16", "0", "65535"],
        &["BITPOS", "ones", "0"],
        &["BITPOS", "ones", "0", "0"],
        &["BITPOS", "ones", "0", "0", "-1"],
        &["BITPOS", "empty", "0"],
        &["BITPOS", "empty", "1"],
        &["BITPOS", "list", "1"],
        // BITOP.
        &["SET", "k1", "foobar"],
        &["SET", "k2", "abcdef"],
        &["SET", "k3", "xy"],
        &["BITOP", "AND", "dest", "k1", "k2"],
        &["GET", "dest"],
        &["BITOP", "or", "dest", "k1", "k2", "k3"],
        &["GET", "dest"],
        &["BITOP", "XOR", "dest", "k1", "k3", "nope"],
        &["GET", "dest"],
        &["BITOP", "NOT", "dest", "k3"],
        &["GET", "dest"],
        &["BITOP", "NOT", "dest", "k1", "k2"],
        &["BITOP", "NAND", "dest", "k1"],
        &["BITOP", "AND", "dest", "k1", "list"],
        &["SET", "dest", "x", "EX", "100"],
        &["BITOP", "AND", "dest", "k1"],
        &["TTL", "dest"],
        &["OBJECT", "ENCODING", "dest"],
        &["BITOP", "AND", "dest", "nope", "nope2"],
        &["EXISTS", "dest"],
        &["BITOP", "OR", "dest2", "nope"],
        // BITFIELD and BITFIELD_RO.
        &[
            "BITFIELD", "bf", "SET", "i8", "0", "100", "GET", "u4", "0", "GET", "i8", "0",
        ],
        &[
            "BITFIELD", "bf", "INCRBY", "i5", "100", "1", "GET", "u4", "0",
        ],
        &[
            "BITFIELD", "bf", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102",
            "1",
        ],
        &[
            "BITFIELD", "bf", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102",
            "1",
        ],
        &[
            "BITFIELD", "bf", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102",
            "1",
        ],
        &[
            "BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "102", "1",
        ],
        &[
            "BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "i8", "#1", "200",
        ],
        &[
            "BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", "#1", "-500",
        ],
        &[
            "BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "u8", "#2", "300",
        ],
        &[
            "BITFIELD", "bf", "OVERFLOW", "WRAP", "SET", "u8", "#2", "300",
        ],
        &[
            "BITFIELD", "bf", "OVERFLOW", "FAIL", "SET", "u8", "#2", "300", "GET", "u8", "#2",
        ],
        &[
            "BITFIELD", "bf", "SET", "i64", "0", "-1", "GET", "i64", "0", "GET", "u63", "1",
        ],
        &[
            "BITFIELD",
            "bf",
            "INCRBY",
            "i64",
            "0",
            "-9223372036854775808",
        ],
        &[
            "BITFIELD",
            "bf",
            "OVERFLOW",
            "SAT",
            "INCRBY",
            "i64",
            "0",
            "-9223372036854775808",
        ],
        &[
            "BITFIELD",
            "bf",
            "SET",
            "u63",
            "0",
            "9223372036854775807",
            "INCRBY",
            "u63",
            "0",
            "1",
        ],
        &[
            "BITFIELD", "bf", "SET", "i3", "5", "-3", "GET", "i3", "5", "GET", "u3", "5",
        ],
        &["GET", "bf"],
        &["BITFIELD", "bf", "GET", "u64", "0"],
        &["BITFIELD", "bf", "GET", "i65", "0"],
        &["BITFIELD", "bf", "GET", "i0", "0"],
        &["BITFIELD", "bf", "GET", "I8", "0"],
        &["BITFIELD", "bf", "GET", "u8", "-1"],
        &["BITFIELD", "bf", "GET", "u8", "#x"],
        &["BITFIELD", "bf", "GET", "u8"],
        &["BITFIELD", "bf", "SET", "u8", "0", "x"],
        &["BITFIELD", "bf", "OVERFLOW", "NOPE", "GET", "u8", "0"],
        &["BITFIELD", "bf", "FOO", "u8", "0"],
        &["BITFIELD", "bf"],
        &["BITFIELD", "nope", "GET", "u8", "0", "GET", "i16", "100"],
        &["EXISTS", "nope"],
        &["BITFIELD", "list", "GET", "u8", "0"],
        &["BITFIELD", "list", "SET", "u8", "0", "1"],
        &["BITFIELD_RO", "bf", "GET", "i8", "0", "GET", "u8", "#3"],
        &["BITFIELD_RO", "bf", "SET", "i8", "0", "1"],
        &["BITFIELD_RO", "bf", "SET", "i8", "0"],
        &[
            "BITFIELD_RO",
            "bf",
            "INCRBY",
            "i8",
            "0",
            "1",
            "GET",
            "i99",
            "0",
        ],
        &[
            "BITFIELD", "created", "OVERFLOW", "FAIL", "SET", "u2", "0", "7",
        ],
        &["EXISTS", "created"],
        &["GET", "created"],
        &["BITFIELD", "bf", "SET", "u8", "4294967296", "1"],
    ] {
        d.check(cmd);
    }
}

#[test]
fn bit_writes_reach_a_replica() {
    let master = Node::tandem(&["--repl-diskless-sync-delay", "0"]);
    // Linked first, so the writes travel as the command stream, not in a full sync.
    let replica = Node::linked_replica_of(&master, &[]);
    let (mut m, mut r) = (master.client(), replica.client());
    for args in [
        &["SETBIT", "bits", "1000", "1"][..],
        &["SETBIT", "bits", "3", "1"],
        &["SETBIT", "bits", "3", "1"],
        &["SET", "a", "foo"],
        &["BITOP", "XOR", "x", "a", "bits"],
        &[
            "BITFIELD", "f", "SET", "u8", "#4", "200", "INCRBY", "i16", "0", "-7",
        ],
        &[
            "BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "#4", "100",
        ],
        &["BITOP", "AND", "gone", "missing"],
    ] {
        m.cmd(args);
    }
    wait_same(&mut m, &mut r, std::time::Duration::from_secs(10));
    for key in ["bits", "x", "f"] {
        assert_eq!(m.cmd(&["GET", key]), r.cmd(&["GET", key]), "{key}");
    }
}
