import { Bonjour, type Service } from 'bonjour-service';
import { describe, expect, it } from 'vitest';
import { MDNS_SERVICE_TYPE, advertiseMdns } from './mdns.js';
import { unusedUdpPort } from './lossy-relay.js';

describe('mDNS / DNS-SD advertisement', () => {
  it('a standard DNS-SD browser finds _lanchat._tcp with its port and fingerprint', async () => {
    // A port nothing listens on: the test never touches the real mDNS port.
    const mdnsPort = await unusedUdpPort();
    const advertisement = advertiseMdns({
      name: 'Lab 3',
      port: 9999,
      fingerprint: 'SHA256:Q2+fnExtKoxlCxkSV+Kp+cKLTw3dQfdHsIpIqp/YZ/U',
      mdnsPort,
      interface: '127.0.0.1',
    });
    const browser = new Bonjour({
      port: mdnsPort,
      bind: '0.0.0.0',
      interface: '127.0.0.1',
    } as ConstructorParameters<typeof Bonjour>[0]);
    try {
      const found = await new Promise<Service>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error('no _lanchat._tcp service within 10 s'));
        }, 10_000);
        browser.find({ type: MDNS_SERVICE_TYPE }, (service) => {
          clearTimeout(timer);
          resolve(service);
        });
      });
      expect(found.name).toBe('Lab 3');
      expect(found.port).toBe(9999);
      expect(found.protocol).toBe('tcp');
      expect(found.txt).toEqual({
        v: '1',
        fp: 'SHA256:Q2+fnExtKoxlCxkSV+Kp+cKLTw3dQfdHsIpIqp/YZ/U',
      });
    } finally {
      await new Promise<void>((resolve) => {
        browser.destroy(() => {
          resolve();
        });
      });
      await advertisement.close();
    }
  });
});
