import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:'); const c = await db.connect();
const sql = process.argv[2];
const r = await c.runAndReadAll(sql); console.table(r.getRowObjectsJS().slice(0,40));
