import { BlackHoleBlockstore } from 'blockstore-core/black-hole';
import { importBytes } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';

/**
 * kubo's defaults for `ipfs add --cid-version=1`: 256 KiB fixed-size chunks,
 * raw leaves, a balanced DAG of at most 174 links per node, and a single-chunk
 * file addressed by its raw leaf (a `bafkrei...` raw CID).
 */
export const MODEL_CID_OPTIONS = {
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunkSize: 262144,
  maxChildrenPerNode: 174,
} as const;

/** sha2-256 multihash code. */
const SHA2_256 = 0x12;

/**
 * The CIDv1 that `ipfs add --cid-version=1` (kubo defaults) gives for a file,
 * and that CID's sha2-256 digest (32 bytes: what a receipt commits to).
 *
 * Only the root CID is wanted, so the blocks go to a black-hole blockstore
 * (the CID does not depend on where blocks are stored; nothing is kept in memory).
 */
export async function modelCid(bytes: Uint8Array): Promise<{ cid: string; digest: Uint8Array }> {
  const o = MODEL_CID_OPTIONS;
  const result = await importBytes(bytes, new BlackHoleBlockstore(), {
    cidVersion: o.cidVersion,
    rawLeaves: o.rawLeaves,
    reduceSingleLeafToSelf: o.reduceSingleLeafToSelf,
    chunker: fixedSize({ chunkSize: o.chunkSize }),
    layout: balanced({ maxChildrenPerNode: o.maxChildrenPerNode }),
  });
  const cid = result.cid;
  if (cid.multihash.code !== SHA2_256 || cid.multihash.digest.length !== 32) {
    throw new Error(`unexpected multihash 0x${cid.multihash.code.toString(16)} from the UnixFS importer`);
  }
  return { cid: cid.toString(), digest: new Uint8Array(cid.multihash.digest) };
}
