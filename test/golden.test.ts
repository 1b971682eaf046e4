// Golden digests: the engine's output and trace root for fixed models and
// inputs. Any change to any kernel's arithmetic changes one of these and must
// come with a new semantics version (DESIGN.md, "Numbers").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEMANTICS_VERSION } from '../src/engine/session.js';
import { fixtureDigests } from './fixtures/digests.js';

const GOLDEN: Record<string, { outputs: string; traceRoot: string }> = {
  matmul37: {
    outputs: '0x125c9042fbb4edbbd03decdca10da4a49cbcb10d4fadbff37308340f62e3fb2c',
    traceRoot: '0xbd02cad17379eb89b86ed7de871c4a2ab28216b7c367cc524fc708d4e102a593',
  },
  mlp: {
    outputs: '0x2243de6d08c610a453221f2759b2c436f56001774ebdccb048acd49aa27311f5',
    traceRoot: '0x478296577de107b330b83bcd21513a38bc5da93b94996f494607eb328a79ec9f',
  },
  cnn: {
    outputs: '0x837a7d7ff29b3673435e2a91da4084ecf4ec5d06728b325c044f6f3c1146e30d',
    traceRoot: '0xe64feb323a9a5b999a35d31d102a3ea486f276ed01f9d5dd13b424b711b52aae',
  },
  transformer: {
    outputs: '0x6382812dc126ebfa213b32aba76c34e69b68f13813d527310c6324ef9f994a29',
    traceRoot: '0x74f4cf0fe3c0c34fe38ef493354d1b6b2bc496a2096361f08a21f29ddf9a2d44',
  },
};

test('semantics version', () => {
  assert.equal(SEMANTICS_VERSION, 'verinfer-canonical/1');
});

test('fixture models match their golden digests', () => {
  assert.deepEqual(fixtureDigests(), GOLDEN);
});
