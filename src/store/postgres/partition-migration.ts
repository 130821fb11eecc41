// Migration 15 of PostgreSQL's schema (src/store/postgres/migrations.ts), in a file of its own
// for its length: events, deliveries and attempts become tables partitioned by time, rebuilt from
// what the catalog says of them when it runs (README, "Partitions").

export const PARTITION_MIGRATION = `
-- Each of the three tables becomes a partitioned table (RANGE on its creation time: events and
-- deliveries on created, attempts on delivery_created, the creation time of their delivery, so
-- that a delivery and its attempts share a partition), one partition per interval
-- (HOOKLINE_PARTITION_INTERVAL, set by migrate() as hookline.partition_interval_ms) holding rows,
-- plus the intervals to come, plus a default partition that takes what no partition covers.
-- The tables are rebuilt from the catalog as it stands when this runs, not from a copy of their
-- columns written here: every column, default, identity, generated column, CHECK constraint,
-- index and foreign key to another table that earlier migrations gave them is carried over. A
-- primary key or unique index gets the partition key appended (PostgreSQL requires it). Foreign
-- keys between the three tables cannot follow (deliveries(id) alone is no longer unique): they
-- are dropped, and AFTER DELETE triggers do what their ON DELETE CASCADE did.
-- Cost: every row is copied once, under ACCESS EXCLUSIVE locks on the three tables for the
-- length of the migration (README, "Migrations").
CREATE FUNCTION pg_temp.hookline_partition(tbl text, key text, add_key boolean, source text, ranges bigint[], iv bigint) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  old text := tbl || '_unpartitioned';
  cols text;
  src_cols text;
  r record;
  b bigint;
BEGIN
  EXECUTE format('ALTER TABLE %I RENAME TO %I', tbl, old);
  EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS%s) PARTITION BY RANGE (%I)',
    tbl, old, CASE WHEN add_key THEN format(', %I BIGINT NOT NULL', key) ELSE '' END, key);
  EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', tbl || '_default', tbl);
  FOREACH b IN ARRAY ranges LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
      tbl || '_p' || to_char(to_timestamp(b / 1000.0) AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MI'), tbl, b, b + iv);
  END LOOP;
  -- Every stored column (not generated, not dropped), in the old table's order.
  SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum), string_agg('o.' || quote_ident(attname), ', ' ORDER BY attnum)
    INTO cols, src_cols
    FROM pg_attribute WHERE attrelid = old::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '';
  IF add_key THEN
    EXECUTE format('INSERT INTO %I (%s, %I) OVERRIDING SYSTEM VALUE SELECT %s, %s', tbl, cols, key, src_cols, source);
  ELSE
    EXECUTE format('INSERT INTO %I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %I o', tbl, cols, src_cols, old);
  END IF;
  -- Identity columns go on from where the old ones were.
  FOR r IN SELECT attname FROM pg_attribute WHERE attrelid = tbl::regclass AND attidentity <> '' LOOP
    EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), coalesce((SELECT max(%I) FROM %I), 0) + 1, false)', tbl, r.attname, r.attname, tbl);
  END LOOP;
  -- What to build once the old table is gone (its index and constraint names are then free).
  INSERT INTO pg_temp.hookline_rebuild (tbl, ord, ddl)
  SELECT tbl, 1, CASE
      WHEN c.contype = 'p' THEN format('ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (%s)', tbl, c.conname, keys.cols || CASE WHEN keys.has_key THEN '' ELSE ', ' || quote_ident(key) END)
      WHEN c.contype = 'u' THEN format('ALTER TABLE %I ADD CONSTRAINT %I UNIQUE (%s)', tbl, c.conname, keys.cols || CASE WHEN keys.has_key THEN '' ELSE ', ' || quote_ident(key) END)
      WHEN i.indisunique THEN format('CREATE UNIQUE INDEX %I ON %I (%s)%s%s', ic.relname, tbl, keys.cols || CASE WHEN keys.has_key THEN '' ELSE ', ' || quote_ident(key) END,
        CASE WHEN i.indnkeyatts < i.indnatts THEN ' INCLUDE (' || (SELECT string_agg(pg_get_indexdef(i.indexrelid, n, true), ', ' ORDER BY n) FROM generate_series(i.indnkeyatts + 1, i.indnatts) n) || ')' ELSE '' END,
        coalesce(' WHERE ' || pg_get_expr(i.indpred, i.indrelid, true), ''))
      ELSE replace(pg_get_indexdef(i.indexrelid), quote_ident(old) || ' USING ', quote_ident(tbl) || ' USING ')
    END
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.contype IN ('p', 'u')
  CROSS JOIN LATERAL (
    SELECT string_agg(pg_get_indexdef(i.indexrelid, n, true), ', ' ORDER BY n) AS cols,
      bool_or(pg_get_indexdef(i.indexrelid, n, true) = quote_ident(key)) AS has_key
    FROM generate_series(1, i.indnkeyatts) n) keys
  WHERE i.indrelid = old::regclass;
  -- Foreign keys to the other tables (webhooks): rebuilt as they were. To the three: dropped.
  INSERT INTO pg_temp.hookline_rebuild (tbl, ord, ddl)
  SELECT tbl, 2, format('ALTER TABLE %I ADD CONSTRAINT %I %s', tbl, c.conname, pg_get_constraintdef(c.oid))
  FROM pg_constraint c
  WHERE c.conrelid = old::regclass AND c.contype = 'f'
    AND c.confrelid NOT IN (SELECT oid FROM pg_class WHERE relname IN ('events', 'deliveries', 'attempts', 'events_unpartitioned', 'deliveries_unpartitioned', 'attempts_unpartitioned') AND relnamespace = c.connamespace);
END
$fn$;

CREATE TEMP TABLE hookline_rebuild (tbl text, ord int, ddl text) ON COMMIT DROP;

DO $do$
DECLARE
  iv bigint := coalesce(nullif(current_setting('hookline.partition_interval_ms', true), ''), '86400000')::bigint;
  now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  ranges bigint[];
  r record;
BEGIN
  -- A table that a foreign key of another table points to cannot be swapped this way: say so.
  IF EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_class t ON t.oid = c.confrelid
      WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname IN ('events', 'deliveries', 'attempts')
        AND c.conrelid NOT IN (SELECT oid FROM pg_class WHERE relnamespace = t.relnamespace AND relname IN ('events', 'deliveries', 'attempts'))) THEN
    RAISE EXCEPTION 'a foreign key of another table refers to events, deliveries or attempts: partitioning them needs it handled first';
  END IF;
  -- A partition for each interval that holds rows, and for the current one and the next three.
  SELECT array_agg(DISTINCT s ORDER BY s) INTO ranges FROM (
    SELECT (created / iv) * iv AS s FROM events
    UNION SELECT (created / iv) * iv FROM deliveries
    UNION SELECT (now_ms / iv + n) * iv FROM generate_series(0, 3) n
  ) x;
  PERFORM pg_temp.hookline_partition('events', 'created', false, NULL, ranges, iv);
  PERFORM pg_temp.hookline_partition('deliveries', 'created', false, NULL, ranges, iv);
  PERFORM pg_temp.hookline_partition('attempts', 'delivery_created', true,
    'd.created FROM attempts_unpartitioned o JOIN deliveries_unpartitioned d ON d.id = o.delivery_id', ranges, iv);
  DROP TABLE attempts_unpartitioned, deliveries_unpartitioned, events_unpartitioned;
  FOR r IN SELECT ddl FROM pg_temp.hookline_rebuild ORDER BY ord, tbl, ddl LOOP
    EXECUTE r.ddl;
  END LOOP;
END
$do$;

-- Replayed deliveries are the only ones younger than their events: retention finds, through
-- this index, whether any still points into a partition of events it is about to drop.
CREATE INDEX deliveries_replays ON deliveries (created, event_id) WHERE replay;

-- What the foreign keys' ON DELETE CASCADE did between the three tables (a webhook deleted takes
-- its deliveries, through the key to webhooks that remains, and they take their attempts).
-- Dropping a partition fires no trigger: retention drops a delivery's partition with its
-- attempts' and, once nothing else points into it, its events'.
CREATE FUNCTION hookline_delivery_deleted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
BEGIN
  DELETE FROM attempts WHERE delivery_id = OLD.id AND delivery_created = OLD.created;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER deliveries_cascade AFTER DELETE ON deliveries FOR EACH ROW EXECUTE FUNCTION hookline_delivery_deleted();
CREATE FUNCTION hookline_event_deleted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
BEGIN
  DELETE FROM deliveries WHERE event_id = OLD.id;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER events_cascade AFTER DELETE ON events FOR EACH ROW EXECUTE FUNCTION hookline_event_deleted();

ANALYZE events, deliveries, attempts;
`;
