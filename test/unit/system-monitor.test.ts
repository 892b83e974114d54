import { strict as assert } from 'node:assert';
import { parseEventLine, stampEvent, type EventBody, type SystemEvent } from '../../src/shared/events';
import { MAX_SYSTEM_POINTS, emptySystem, pushSystem } from '../../src/shared/system';
import { SystemMonitor } from '../../src/trainer/system-monitor';

describe('system readouts', () => {
  it('samples the trainer\'s CPU and memory as a valid system event', async () => {
    const seen: EventBody[] = [];
    const monitor = new SystemMonitor((e) => seen.push(e), 60_000);
    monitor.start();
    const t0 = Date.now();
    while (Date.now() - t0 < 50); // some CPU to measure
    await monitor.sample();
    monitor.stop();
    assert.equal(seen.length, 1);
    const event = stampEvent(seen[0]) as SystemEvent;
    assert.equal(event.type, 'system');
    assert.ok(event.cpu > 10 && event.cpu < 1000, `cpu ${event.cpu}`);
    assert.ok(event.rss > 10e6);
    assert.ok(event.systemCpu >= 0 && event.systemCpu <= 100);
    assert.deepEqual(parseEventLine(JSON.stringify(event)), event, 'the event does not pass the protocol check');
    assert.equal(parseEventLine(JSON.stringify({ ...event, rss: 'a lot' })), undefined);
  });

  it('keeps a bounded series of samples, newest last', () => {
    const series = emptySystem();
    const sample = (i: number): SystemEvent => ({ v: 1, type: 'system', time: i, cpu: i, systemCpu: 50, rss: 1e8, gpus: [{ index: 0, name: 'g', utilization: 40, memoryUsed: 100, memoryTotal: 1000 }, { index: 1, name: 'g', utilization: 60, memoryUsed: 300, memoryTotal: 1000 }] });
    for (let i = 0; i < MAX_SYSTEM_POINTS + 10; i++) pushSystem(series, sample(i));
    assert.ok(series.time.length <= MAX_SYSTEM_POINTS);
    assert.equal(series.time[series.time.length - 1], MAX_SYSTEM_POINTS + 9);
    assert.deepEqual([series.gpuUtilization[0], series.gpuMemory[0], series.gpuMemoryTotal[0]], [50, 400, 2000]);
  });
});
