// The audit log on PostgreSQL (the Audit port, src/store/ports.ts): who changed what, newest first.
import { auditFrom } from '../rows.js';
import type { AuditEntry, Page } from '../types.js';
import type { Db } from './db.js';

export async function appendAudit(db: Db, e: AuditEntry): Promise<void> {
  await db.query(`INSERT INTO audit_log (id, account_id, actor, key_id, action, target_type, target_id, ip, created)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [e.id, e.accountId, e.actor, e.keyId, e.action, e.targetType, e.targetId, e.ip, e.created]);
}

export async function listAudit(db: Db, accountId: string | null, page: Page): Promise<{ entries: AuditEntry[]; total: number }> {
  const where = accountId === null ? '' : 'WHERE account_id = $3';
  const args: unknown[] = [page.pageLength, (page.page - 1) * page.pageLength, ...(accountId === null ? [] : [accountId])];
  const { rows } = await db.query(`SELECT * FROM audit_log ${where} ORDER BY created DESC, seq DESC LIMIT $1 OFFSET $2`, args);
  const total = (await db.query(`SELECT count(*) AS total FROM audit_log ${where.replace('$3', '$1')}`, args.slice(2))).rows[0]!.total;
  return { entries: rows.map(auditFrom), total };
}
