//! Command documentation for COMMAND DOCS: the syntax and a one-line summary of each
//! command, in the words of tandem, so that `redis-cli` shows argument hints as it does
//! against redis-server.
//!
//! redis-cli builds its hints from the `arguments` of each command's docs; tandem gives
//! the whole syntax as one argument, which redis-cli prints the same way.

/// One command's documentation.
#[derive(Debug)]
pub struct CommandDoc {
    /// Lower-case name; `parent|sub` for a subcommand.
    pub name: &'static str,
    pub since: &'static str,
    /// Syntax after the command name, as redis-cli hints show it.
    pub params: &'static str,
    pub summary: &'static str,
}

const fn doc(
    name: &'static str,
    since: &'static str,
    params: &'static str,
    summary: &'static str,
) -> CommandDoc {
    CommandDoc {
        name,
        since,
        params,
        summary,
    }
}

/// Documentation of every command tandem implements (subcommands as `parent|sub`).
pub static DOCS: &[CommandDoc] = &[
    // connection
    doc("auth", "1.0.0", "[username] password", "Authenticates the connection."),
    doc("client", "2.4.0", "", "A container for client connection commands."),
    doc("client|id", "5.0.0", "", "Returns the unique client ID of the connection."),
    doc("client|info", "6.2.0", "", "Returns information about the connection."),
    doc("client|kill", "2.4.0", "ip:port|[ID client-id] [TYPE normal|master|slave|replica|pubsub] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no]", "Terminates open connections."),
    doc("client|list", "2.4.0", "[TYPE normal|master|replica|pubsub] [ID client-id [client-id ...]]", "Lists open connections."),
    doc("client|getname", "2.6.9", "", "Returns the name of the connection."),
    doc("client|setname", "2.6.9", "connection-name", "Sets the connection name."),
    doc("client|reply", "3.2.0", "ON|OFF|SKIP", "Instructs the server whether to reply to commands."),
    doc("client|no-evict", "7.0.0", "ON|OFF", "Sets the client eviction mode of the connection."),
    doc("client|unblock", "5.0.0", "client-id [TIMEOUT|ERROR]", "Unblocks a client blocked by a blocking command from a different connection."),
    doc("client|help", "5.0.0", "", "Returns helpful text about the different subcommands."),
    doc("echo", "1.0.0", "message", "Returns the given string."),
    doc("hello", "6.0.0", "[protover [AUTH username password] [SETNAME clientname]]", "Handshakes with the server."),
    doc("ping", "1.0.0", "[message]", "Returns the server's liveliness response."),
    doc("quit", "1.0.0", "", "Closes the connection."),
    doc("reset", "6.2.0", "", "Resets the connection."),
    doc("select", "1.0.0", "index", "Changes the selected database."),
    // keys
    doc("copy", "6.2.0", "source destination [DB destination-db] [REPLACE]", "Copies the value of a key to a new key."),
    doc("del", "1.0.0", "key [key ...]", "Deletes one or more keys."),
    doc("dump", "2.6.0", "key", "Returns a serialized representation of the value stored at a key."),
    doc("exists", "1.0.0", "key [key ...]", "Determines whether one or more keys exist."),
    doc("expire", "1.0.0", "key seconds [NX|XX|GT|LT]", "Sets the expiration time of a key in seconds."),
    doc("expireat", "1.2.0", "key unix-time-seconds [NX|XX|GT|LT]", "Sets the expiration time of a key to a Unix timestamp."),
    doc("expiretime", "7.0.0", "key", "Returns the expiration time of a key as a Unix timestamp."),
    doc("sort", "1.0.0", "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA] [STORE destination]", "Sorts the elements in a list, a set, or a sorted set, optionally storing the result."),
    doc("sort_ro", "7.0.0", "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA]", "Returns the sorted elements of a list, a set, or a sorted set."),
    doc("keys", "1.0.0", "pattern", "Returns all key names that match a pattern."),
    doc("move", "1.0.0", "key db", "Moves a key to another database."),
    doc("object", "2.2.3", "", "A container for object introspection commands."),
    doc("object|encoding", "2.2.3", "key", "Returns the internal encoding of a value."),
    doc("object|freq", "4.0.0", "key", "Returns the logarithmic access frequency counter of a value."),
    doc("object|idletime", "2.2.3", "key", "Returns the time since the last access to a value."),
    doc("object|refcount", "2.2.3", "key", "Returns the reference count of a value."),
    doc("object|help", "6.2.0", "", "Returns helpful text about the different subcommands."),
    doc("persist", "2.2.0", "key", "Removes the expiration time of a key."),
    doc("pexpire", "2.6.0", "key milliseconds [NX|XX|GT|LT]", "Sets the expiration time of a key in milliseconds."),
    doc("pexpireat", "2.6.0", "key unix-time-milliseconds [NX|XX|GT|LT]", "Sets the expiration time of a key to a Unix milliseconds timestamp."),
    doc("pexpiretime", "7.0.0", "key", "Returns the expiration time of a key as a Unix milliseconds timestamp."),
    doc("pttl", "2.6.0", "key", "Returns the expiration time in milliseconds of a key."),
    doc("randomkey", "1.0.0", "", "Returns a random key name from the database."),
    doc("rename", "1.0.0", "key newkey", "Renames a key and overwrites the destination."),
    doc("renamenx", "1.0.0", "key newkey", "Renames a key only when the target key name doesn't exist."),
    doc("restore", "2.6.0", "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]", "Creates a key from the serialized representation of a value."),
    doc("restore-asking", "3.0.0", "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]", "An internal command for migrating keys in a cluster."),
    doc("migrate", "2.6.0", "host port <key | \"\"> destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 username password] [KEYS key [key ...]]", "Atomically transfers a key from one Redis instance to another."),
    doc("scan", "2.8.0", "cursor [MATCH pattern] [COUNT count] [TYPE type]", "Iterates over the key names in the database."),
    doc("touch", "3.2.1", "key [key ...]", "Returns the number of existing keys out of those specified after updating the time they were last accessed."),
    doc("ttl", "1.0.0", "key", "Returns the expiration time in seconds of a key."),
    doc("type", "1.0.0", "key", "Determines the type of value stored at a key."),
    doc("unlink", "4.0.0", "key [key ...]", "Asynchronously deletes one or more keys."),
    // strings
    doc("append", "2.0.0", "key value", "Appends a string to the value of a key."),
    doc("decr", "1.0.0", "key", "Decrements the integer value of a key by one."),
    doc("decrby", "1.0.0", "key decrement", "Decrements a number from the integer value of a key."),
    doc("get", "1.0.0", "key", "Returns the string value of a key."),
    doc("getdel", "6.2.0", "key", "Returns the string value of a key after deleting the key."),
    doc("getex", "6.2.0", "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]", "Returns the string value of a key after setting its expiration time."),
    doc("getrange", "2.4.0", "key start end", "Returns a substring of the string stored at a key."),
    // bitmap
    doc("bitcount", "2.6.0", "key [start end [BYTE|BIT]]", "Counts the number of set bits (population counting) in a string."),
    doc("bitfield", "3.2.0", "key [GET encoding offset|[OVERFLOW WRAP|SAT|FAIL] SET encoding offset value|INCRBY encoding offset increment [GET encoding offset|[OVERFLOW WRAP|SAT|FAIL] SET encoding offset value|INCRBY encoding offset increment ...]]", "Performs arbitrary bitfield integer operations on strings."),
    doc("bitfield_ro", "6.0.0", "key [GET encoding offset [GET encoding offset ...]]", "Performs arbitrary read-only bitfield integer operations on strings."),
    doc("bitop", "2.6.0", "AND|OR|XOR|NOT destkey key [key ...]", "Performs bitwise operations on multiple strings, and stores the result."),
    doc("bitpos", "2.8.7", "key bit [start [end [BYTE|BIT]]]", "Finds the first set (1) or clear (0) bit in a string."),
    doc("getbit", "2.2.0", "key offset", "Returns a bit value by offset."),
    doc("setbit", "2.2.0", "key offset value", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist."),
    doc("getset", "1.0.0", "key value", "Returns the previous string value of a key after setting it to a new value."),
    doc("incr", "1.0.0", "key", "Increments the integer value of a key by one."),
    doc("incrby", "1.0.0", "key increment", "Increments the integer value of a key by a number."),
    doc("incrbyfloat", "2.6.0", "key increment", "Increments the floating point value of a key by a number."),
    doc("lcs", "7.0.0", "key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]", "Finds the longest common substring."),
    doc("mget", "1.0.0", "key [key ...]", "Atomically returns the string values of one or more keys."),
    doc("mset", "1.0.1", "key value [key value ...]", "Atomically creates or modifies the string values of one or more keys."),
    doc("msetnx", "1.0.1", "key value [key value ...]", "Atomically modifies the string values of one or more keys only when all keys don't exist."),
    doc("psetex", "2.6.0", "key milliseconds value", "Sets both string value and expiration time in milliseconds of a key."),
    doc("set", "1.0.0", "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", "Sets the string value of a key, ignoring its type."),
    doc("setex", "2.0.0", "key seconds value", "Sets the string value and expiration time of a key."),
    doc("setnx", "1.0.0", "key value", "Set the string value of a key only when the key doesn't exist."),
    doc("setrange", "2.2.0", "key offset value", "Overwrites a part of a string value with another by an offset."),
    doc("strlen", "2.2.0", "key", "Returns the length of a string value."),
    doc("substr", "1.0.0", "key start end", "Returns a substring from a string value."),
    // lists
    doc("blmove", "6.2.0", "source destination LEFT|RIGHT LEFT|RIGHT timeout", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise."),
    doc("blmpop", "7.0.0", "timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise."),
    doc("blpop", "2.0.0", "key [key ...] timeout", "Removes and returns the first element in a list. Blocks until an element is available otherwise."),
    doc("brpop", "2.0.0", "key [key ...] timeout", "Removes and returns the last element in a list. Blocks until an element is available otherwise."),
    doc("brpoplpush", "2.2.0", "source destination timeout", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise."),
    doc("lindex", "1.0.0", "key index", "Returns an element from a list by its index."),
    doc("linsert", "2.2.0", "key BEFORE|AFTER pivot element", "Inserts an element before or after another element in a list."),
    doc("llen", "1.0.0", "key", "Returns the length of a list."),
    doc("lmove", "6.2.0", "source destination LEFT|RIGHT LEFT|RIGHT", "Returns an element after popping it from one list and pushing it to another."),
    doc("lmpop", "7.0.0", "numkeys key [key ...] LEFT|RIGHT [COUNT count]", "Returns multiple elements from a list after removing them."),
    doc("lpop", "1.0.0", "key [count]", "Returns the first elements in a list after removing it."),
    doc("lpos", "6.0.6", "key element [RANK rank] [COUNT num-matches] [MAXLEN len]", "Returns the index of matching elements in a list."),
    doc("lpush", "1.0.0", "key element [element ...]", "Prepends one or more elements to a list."),
    doc("lpushx", "2.2.0", "key element [element ...]", "Prepends one or more elements to a list only when the list exists."),
    doc("lrange", "1.0.0", "key start stop", "Returns a range of elements from a list."),
    doc("lrem", "1.0.0", "key count element", "Removes elements from a list."),
    doc("lset", "1.0.0", "key index element", "Sets the value of an element in a list by its index."),
    doc("ltrim", "1.0.0", "key start stop", "Removes elements from both ends a list."),
    doc("rpop", "1.0.0", "key [count]", "Returns and removes the last elements of a list."),
    doc("rpoplpush", "1.2.0", "source destination", "Returns the last element of a list after removing and pushing it to another list."),
    doc("rpush", "1.0.0", "key element [element ...]", "Appends one or more elements to a list."),
    doc("rpushx", "2.2.0", "key element [element ...]", "Appends an element to a list only when the list exists."),
    // hashes
    doc("hdel", "2.0.0", "key field [field ...]", "Deletes one or more fields and their values from a hash."),
    doc("hexists", "2.0.0", "key field", "Determines whether a field exists in a hash."),
    doc("hget", "2.0.0", "key field", "Returns the value of a field in a hash."),
    doc("hgetall", "2.0.0", "key", "Returns all fields and values in a hash."),
    doc("hincrby", "2.0.0", "key field increment", "Increments the integer value of a field in a hash by a number."),
    doc("hincrbyfloat", "2.6.0", "key field increment", "Increments the floating point value of a field by a number."),
    doc("hkeys", "2.0.0", "key", "Returns all fields in a hash."),
    doc("hlen", "2.0.0", "key", "Returns the number of fields in a hash."),
    doc("hmget", "2.0.0", "key field [field ...]", "Returns the values of all fields in a hash."),
    doc("hmset", "2.0.0", "key field value [field value ...]", "Sets the values of multiple fields."),
    doc("hrandfield", "6.2.0", "key [count [WITHVALUES]]", "Returns one or more random fields from a hash."),
    doc("hscan", "2.8.0", "key cursor [MATCH pattern] [COUNT count]", "Iterates over fields and values of a hash."),
    doc("hset", "2.0.0", "key field value [field value ...]", "Creates or modifies the value of a field in a hash."),
    doc("hsetnx", "2.0.0", "key field value", "Sets the value of a field in a hash only when the field doesn't exist."),
    doc("hstrlen", "3.2.0", "key field", "Returns the length of the value of a field."),
    doc("hvals", "2.0.0", "key", "Returns all values in a hash."),
    // sets
    doc("sadd", "1.0.0", "key member [member ...]", "Adds one or more members to a set."),
    doc("scard", "1.0.0", "key", "Returns the number of members in a set."),
    doc("sdiff", "1.0.0", "key [key ...]", "Returns the difference of multiple sets."),
    doc("sdiffstore", "1.0.0", "destination key [key ...]", "Stores the difference of multiple sets in a key."),
    doc("sinter", "1.0.0", "key [key ...]", "Returns the intersect of multiple sets."),
    doc("sintercard", "7.0.0", "numkeys key [key ...] [LIMIT limit]", "Returns the number of members of the intersect of multiple sets."),
    doc("sinterstore", "1.0.0", "destination key [key ...]", "Stores the intersect of multiple sets in a key."),
    doc("sismember", "1.0.0", "key member", "Determines whether a member belongs to a set."),
    doc("smembers", "1.0.0", "key", "Returns all members of a set."),
    doc("smismember", "6.2.0", "key member [member ...]", "Determines whether multiple members belong to a set."),
    doc("smove", "1.0.0", "source destination member", "Moves a member from one set to another."),
    doc("spop", "1.0.0", "key [count]", "Returns one or more random members from a set after removing them."),
    doc("srandmember", "1.0.0", "key [count]", "Get one or multiple random members from a set"),
    doc("srem", "1.0.0", "key member [member ...]", "Removes one or more members from a set."),
    doc("sscan", "2.8.0", "key cursor [MATCH pattern] [COUNT count]", "Iterates over members of a set."),
    doc("sunion", "1.0.0", "key [key ...]", "Returns the union of multiple sets."),
    doc("sunionstore", "1.0.0", "destination key [key ...]", "Stores the union of multiple sets in a key."),
    // sorted sets
    doc("bzmpop", "7.0.0", "timeout numkeys key [key ...] MIN|MAX [COUNT count]", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise."),
    doc("bzpopmax", "5.0.0", "key [key ...] timeout", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise."),
    doc("bzpopmin", "5.0.0", "key [key ...] timeout", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise."),
    doc("zadd", "1.2.0", "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]", "Adds one or more members to a sorted set, or updates their scores."),
    doc("zcard", "1.2.0", "key", "Returns the number of members in a sorted set."),
    doc("zcount", "2.0.0", "key min max", "Returns the count of members in a sorted set that have scores within a range."),
    doc("zdiff", "6.2.0", "numkeys key [key ...] [WITHSCORES]", "Returns the difference between multiple sorted sets."),
    doc("zdiffstore", "6.2.0", "destination numkeys key [key ...]", "Stores the difference of multiple sorted sets in a key."),
    doc("zincrby", "1.2.0", "key increment member", "Increments the score of a member in a sorted set."),
    doc("zinter", "6.2.0", "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]", "Returns the intersect of multiple sorted sets."),
    doc("zintercard", "7.0.0", "numkeys key [key ...] [LIMIT limit]", "Returns the number of members of the intersect of multiple sorted sets."),
    doc("zinterstore", "2.0.0", "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]", "Stores the intersect of multiple sorted sets in a key."),
    doc("zlexcount", "2.8.9", "key min max", "Returns the number of members in a sorted set within a lexicographical range."),
    doc("zmpop", "7.0.0", "numkeys key [key ...] MIN|MAX [COUNT count]", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them."),
    doc("zmscore", "6.2.0", "key member [member ...]", "Returns the score of one or more members in a sorted set."),
    doc("zpopmax", "5.0.0", "key [count]", "Returns the highest-scoring members from a sorted set after removing them."),
    doc("zpopmin", "5.0.0", "key [count]", "Returns the lowest-scoring members from a sorted set after removing them."),
    doc("zrandmember", "6.2.0", "key [count [WITHSCORES]]", "Returns one or more random members from a sorted set."),
    doc("zrange", "1.2.0", "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]", "Returns members in a sorted set within a range of indexes."),
    doc("zrangebylex", "2.8.9", "key min max [LIMIT offset count]", "Returns members in a sorted set within a lexicographical range."),
    doc("zrangebyscore", "1.0.5", "key min max [WITHSCORES] [LIMIT offset count]", "Returns members in a sorted set within a range of scores."),
    doc("zrangestore", "6.2.0", "dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]", "Stores a range of members from sorted set in a key."),
    doc("zrank", "2.0.0", "key member", "Returns the index of a member in a sorted set ordered by ascending scores."),
    doc("zrem", "1.2.0", "key member [member ...]", "Removes one or more members from a sorted set."),
    doc("zremrangebylex", "2.8.9", "key min max", "Removes members in a sorted set within a lexicographical range."),
    doc("zremrangebyrank", "2.0.0", "key start stop", "Removes members in a sorted set within a range of indexes."),
    doc("zremrangebyscore", "1.2.0", "key min max", "Removes members in a sorted set within a range of scores."),
    doc("zrevrange", "1.2.0", "key start stop [WITHSCORES]", "Returns members in a sorted set within a range of indexes in reverse order."),
    doc("zrevrangebylex", "2.8.9", "key max min [LIMIT offset count]", "Returns members in a sorted set within a lexicographical range in reverse order."),
    doc("zrevrangebyscore", "2.2.0", "key max min [WITHSCORES] [LIMIT offset count]", "Returns members in a sorted set within a range of scores in reverse order."),
    doc("zrevrank", "2.0.0", "key member", "Returns the index of a member in a sorted set ordered by descending scores."),
    doc("zscan", "2.8.0", "key cursor [MATCH pattern] [COUNT count]", "Iterates over members and scores of a sorted set."),
    doc("zscore", "1.2.0", "key member", "Returns the score of a member in a sorted set."),
    doc("zunion", "6.2.0", "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]", "Returns the union of multiple sorted sets."),
    doc("zunionstore", "2.0.0", "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]", "Stores the union of multiple sorted sets in a key."),
    // pub/sub
    doc("psubscribe", "2.0.0", "pattern [pattern ...]", "Listens for messages published to channels that match one or more patterns."),
    doc("publish", "2.0.0", "channel message", "Posts a message to a channel."),
    doc("pubsub", "2.8.0", "", "A container for Pub/Sub commands."),
    doc("pubsub|channels", "2.8.0", "[pattern]", "Returns the active channels."),
    doc("pubsub|numpat", "2.8.0", "", "Returns a count of unique pattern subscriptions."),
    doc("pubsub|numsub", "2.8.0", "[channel [channel ...]]", "Returns a count of subscribers to channels."),
    doc("pubsub|shardchannels", "7.0.0", "[pattern]", "Returns the active shard channels."),
    doc("pubsub|shardnumsub", "7.0.0", "[shardchannel [shardchannel ...]]", "Returns the count of subscribers of shard channels."),
    doc("punsubscribe", "2.0.0", "[pattern [pattern ...]]", "Stops listening to messages published to channels that match one or more patterns."),
    doc("subscribe", "2.0.0", "channel [channel ...]", "Listens for messages published to channels."),
    doc("unsubscribe", "2.0.0", "[channel [channel ...]]", "Stops listening to messages posted to channels."),
    // transactions
    doc("discard", "2.0.0", "", "Discards a transaction."),
    doc("exec", "1.2.0", "", "Executes all commands in a transaction."),
    doc("multi", "1.2.0", "", "Starts a transaction."),
    doc("unwatch", "2.2.0", "", "Forgets about watched keys of a transaction."),
    doc("watch", "2.2.0", "key [key ...]", "Monitors changes to keys to determine the execution of a transaction."),
    // server
    doc("command", "2.8.13", "", "Returns detailed information about all commands."),
    doc("command|count", "2.8.13", "", "Returns a count of commands."),
    doc("command|docs", "7.0.0", "[command-name [command-name ...]]", "Returns documentary information about one, multiple or all commands."),
    doc("command|getkeys", "2.8.13", "command [arg [arg ...]]", "Extracts the key names from an arbitrary command."),
    doc("command|info", "2.8.13", "[command-name [command-name ...]]", "Returns information about one, multiple or all commands."),
    doc("command|list", "7.0.0", "", "Returns a list of command names."),
    doc("config", "2.0.0", "", "A container for server configuration commands."),
    doc("config|get", "2.0.0", "parameter [parameter ...]", "Returns the effective values of configuration parameters."),
    doc("config|help", "5.0.0", "", "Returns helpful text about the different subcommands."),
    doc("config|resetstat", "2.0.0", "", "Resets the server's statistics."),
    doc("config|rewrite", "2.8.0", "", "Persists the effective configuration to file."),
    doc("config|set", "2.0.0", "parameter value [parameter value ...]", "Sets configuration parameters in-flight."),
    doc("dbsize", "1.0.0", "", "Returns the number of keys in the database."),
    doc("debug", "1.0.0", "", "A container for debugging commands."),
    doc("flushall", "1.0.0", "[ASYNC|SYNC]", "Removes all keys from all databases."),
    doc("flushdb", "1.0.0", "[ASYNC|SYNC]", "Remove all keys from the current database."),
    doc("info", "1.0.0", "[section [section ...]]", "Returns information and statistics about the server."),
    doc("lastsave", "1.0.0", "", "Returns the Unix timestamp of the last successful save to disk."),
    doc("latency", "2.8.13", "", "A container for latency diagnostics commands."),
    doc("latency|latest", "2.8.13", "", "Returns the latest latency sample of every event."),
    doc("latency|history", "2.8.13", "event", "Returns the latency samples of an event."),
    doc("latency|histogram", "7.0.0", "[command [command ...]]", "Returns the latency distribution of commands."),
    doc("latency|reset", "2.8.13", "[event [event ...]]", "Clears the latency samples of events."),
    doc("latency|doctor", "2.8.13", "", "Returns a report on the latency observed."),
    doc("latency|graph", "2.8.13", "event", "Returns a graph of an event's latency samples."),
    doc("latency|help", "2.8.13", "", "Returns helpful text about the different subcommands."),
    doc("memory", "4.0.0", "", "A container for memory diagnostics commands."),
    doc("memory|usage", "4.0.0", "key [SAMPLES count]", "Estimates the memory usage of a key."),
    doc("monitor", "1.0.0", "", "Listens for all requests received by the server in real-time."),
    doc("role", "2.8.12", "", "Returns the replication role."),
    doc("replconf", "3.0.0", "", "An internal command for configuring the replication stream."),
    doc("psync", "2.8.0", "replicationid offset", "An internal command used in replication."),
    doc("sync", "1.0.0", "", "An internal command used in replication."),
    doc("replicaof", "5.0.0", "host port", "Configures a server as replica of another, or promotes it to a master."),
    doc("slaveof", "1.0.0", "host port", "Sets a Redis server as a replica of another, or promotes it to being a master."),
    doc("failover", "6.2.0", "[TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]", "Starts a coordinated failover from a server to one of its replicas."),
    doc("wait", "3.0.0", "numreplicas timeout", "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed."),
    doc("save", "1.0.0", "", "Synchronously saves the database(s) to disk."),
    doc("bgsave", "1.0.0", "[SCHEDULE]", "Asynchronously saves the database(s) to disk."),
    doc("bgrewriteaof", "1.0.0", "", "Asynchronously rewrites the append-only file to disk."),
    doc("shutdown", "1.0.0", "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]", "Synchronously saves the database(s) to disk and shuts down the server."),
    doc("slowlog", "2.2.12", "", "A container for slow log commands."),
    doc("slowlog|get", "2.2.12", "[count]", "Returns the slow log's entries."),
    doc("slowlog|len", "2.2.12", "", "Returns the number of entries in the slow log."),
    doc("slowlog|reset", "2.2.12", "", "Clears the slow log."),
    doc("slowlog|help", "6.2.0", "", "Returns helpful text about the different subcommands."),
    doc("swapdb", "4.0.0", "index1 index2", "Swaps two databases."),
    doc("time", "2.6.0", "", "Returns the server time."),
];

/// The documentation of a command or subcommand (`parent|sub`).
pub fn find(name: &str) -> Option<&'static CommandDoc> {
    DOCS.iter().find(|d| d.name == name)
}

/// Redis's full name of a command as run: `parent|sub` for a documented subcommand of a
/// container command (CLIENT LIST `cmd=client|list`), else the command's own name.
pub fn full_name(command: &'static str, args: &[bytes::Bytes]) -> &'static str {
    let Some(sub) = args.get(1) else {
        return command;
    };
    subcommands(command)
        .find(|d| d.name.as_bytes()[command.len() + 1..].eq_ignore_ascii_case(sub))
        .map_or(command, |d| d.name)
}

/// The documented subcommands of `parent`.
pub fn subcommands(parent: &str) -> impl Iterator<Item = &'static CommandDoc> + '_ {
    DOCS.iter()
        .filter(move |d| d.name.split_once('|').is_some_and(|(p, _)| p == parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_documented() {
        let table = crate::cmd::CommandTable::new(&[]);
        for (_, spec) in table.iter() {
            assert!(
                find(spec.name).is_some(),
                "{} has no entry in DOCS",
                spec.name
            );
        }
    }

    #[test]
    fn container_commands_list_their_subcommands() {
        let subs: Vec<&str> = subcommands("config").map(|d| d.name).collect();
        assert!(
            subs.contains(&"config|get") && subs.contains(&"config|rewrite"),
            "{subs:?}"
        );
        assert_eq!(subcommands("get").count(), 0);
    }

    #[test]
    fn full_names_name_the_subcommand() {
        let args = |a: &[&'static str]| {
            a.iter()
                .map(|s| bytes::Bytes::from_static(s.as_bytes()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            full_name("config", &args(&["CONFIG", "Get", "x"])),
            "config|get"
        );
        assert_eq!(full_name("config", &args(&["CONFIG", "nosuch"])), "config");
        assert_eq!(full_name("client", &args(&["client"])), "client");
    }

    #[test]
    fn container_flag_matches_the_documented_subcommands() {
        let table = crate::cmd::CommandTable::new(&[]);
        for (_, spec) in table.iter() {
            assert_eq!(
                spec.has(crate::cmd::flags::CONTAINER),
                subcommands(spec.name).next().is_some(),
                "{}",
                spec.name
            );
        }
    }
}
