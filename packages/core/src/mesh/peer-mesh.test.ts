import { describe, expect, it } from 'vitest';
import { TestingNetwork } from '../testing/testing-network.js';
import type { PeerMeshEvent } from './peer-mesh.js';

const FAST = {
  keepaliveInterval: 1_000,
  deadTimeout: 3_000,
  handshakeTimeout: 2_000,
  redialInitialDelay: 200,
  redialMaxDelay: 2_000,
  dialHeadStart: 500,
};

function connectedNicks(network: TestingNetwork, name: string): string[] {
  return network
    .peer(name)
    .mesh.peers()
    .filter((peer) => peer.status === 'connected')
    .map((peer) => peer.nick)
    .sort();
}

function fullMesh(network: TestingNetwork, names: readonly string[]): boolean {
  return names.every((name) => {
    const others = names.filter((other) => other !== name).sort();
    const links = network.peer(name).mesh.links();
    return (
      JSON.stringify(connectedNicks(network, name)) === JSON.stringify(others) &&
      links.length === others.length
    );
  });
}

function received(events: readonly PeerMeshEvent[]): string[] {
  return events.flatMap((event) =>
    event.type === 'message-received' ? [`${event.nick}: ${event.text}`] : [],
  );
}

describe('PeerMesh', () => {
  it('three peers form a full mesh from two dials, and room messages reach everyone once', () => {
    const network = new TestingNetwork({ seed: 7, peerOptions: FAST });
    for (const name of ['ann', 'bob', 'cid']) network.addPeer(name);
    network.connect('ann', 'bob');
    network.connect('cid', 'ann');
    network.runUntil(() => fullMesh(network, ['ann', 'bob', 'cid']), 10_000);
    network.act('bob', (mesh, now) => mesh.say('lobby', 'hello all', now));
    network.runFor(100);
    expect(received(network.peer('ann').events)).toEqual(['bob: hello all']);
    expect(received(network.peer('cid').events)).toEqual(['bob: hello all']);
    expect(received(network.peer('bob').events)).toEqual([]);
  });
});
