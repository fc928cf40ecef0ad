import { ALL_BROKERS, launchers, startBrokers } from './launcher.ts';
import type { BrokerName } from './types.ts';

/** `npm run brokers -- up|down|status [name…]` — the launcher for people. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const names = (rest.length ? rest : ALL_BROKERS) as BrokerName[];
  for (const n of names) {
    if (!ALL_BROKERS.includes(n)) {
      console.error(`unknown broker '${n}' (known: ${ALL_BROKERS.join(', ')})`);
      return 2;
    }
  }
  switch (command) {
    case 'up': {
      const endpoints = await startBrokers(names);
      for (const e of Object.values(endpoints)) console.log(JSON.stringify(e));
      return 0;
    }
    case 'down':
      await Promise.all(names.map((n) => launchers[n].stop()));
      console.log(`stopped: ${names.join(', ')}`);
      return 0;
    case 'status': {
      let allUp = true;
      for (const n of names) {
        const e = await launchers[n].status();
        allUp &&= e !== undefined;
        console.log(`${n}: ${e ? `up ${JSON.stringify(e)}` : 'down'}`);
      }
      return allUp ? 0 : 1;
    }
    case 'install':
      for (const n of names) await launchers[n].install();
      return 0;
    default:
      console.error(
        'usage: npm run brokers -- up|down|status|install [kafka|sqs|rabbitmq|minio …]',
      );
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  return 1;
});
