import type { LedgerClient } from '../ledger/ledger-client';
import type { ChannelSync } from '../sync/channel-sync';

/**
 * Reads every count of the channel from the ledger (`GET /v1/channels/:channel/availability`, paged)
 * and offers it page by page: each passes the revision rule, so only counts newer than what the
 * connector holds are queued. Returns how many counts were read.
 */
export async function resyncFromLedger(sync: ChannelSync, ledger: LedgerClient, pageSize = 500): Promise<number> {
  let read = 0;
  for await (const page of ledger.availability(sync.channel, pageSize)) {
    sync.offer(page);
    read += page.length;
  }
  return read;
}
