import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'hang' | 'blackhole';

export type TcpProxy = {
  port: number;
  /**
   * pass: forward; refuse: drop every connection (like a dead host's RST); hang: accept and never
   * answer (existing connections are dropped); blackhole: a network partition, where nothing
   * passes either way and nothing is closed: open connections stay open and go silent, new ones
   * are accepted and held. Back to pass, the silent connections carry on where they stopped and
   * the held ones are connected through, as TCP would after the partition heals.
   */
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
};

type Link = { client: Socket; upstream: Socket | null };

/** A TCP proxy a test controls, between the app and a dependency. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass';
  const open = new Set<Socket>();
  const links = new Set<Link>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const forward = (link: Link) => {
    const upstream = link.upstream ?? connect(targetPort, targetHost);
    if (!link.upstream) {
      link.upstream = upstream;
      track(upstream);
      link.client.on('close', () => upstream.destroy());
      upstream.on('close', () => link.client.destroy());
    }
    link.client.pipe(upstream);
    upstream.pipe(link.client);
  };
  const silence = (link: Link) => {
    link.client.unpipe();
    link.upstream?.unpipe();
    link.client.pause();
    link.upstream?.pause();
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (mode === 'hang') return; // held open, nothing forwarded
    const link: Link = { client, upstream: null };
    links.add(link);
    client.on('close', () => links.delete(link));
    if (mode === 'pass') forward(link);
    else client.pause(); // blackhole: held until the partition heals
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    setMode(next) {
      const previous = mode;
      mode = next;
      if (next === 'blackhole') {
        if (previous === 'pass') for (const link of links) silence(link);
      } else if (next === 'pass') {
        if (previous === 'blackhole') for (const link of links) forward(link);
      } else {
        // Existing connections die too, as when a network link or host goes away.
        for (const socket of open) socket.resetAndDestroy();
        links.clear();
      }
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
