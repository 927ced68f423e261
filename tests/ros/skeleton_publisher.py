"""Test helper process: publish a real GTU sequence on /skeleton at a fixed rate with stamps.

  python tests/ros/skeleton_publisher.py FILE --rate 30 --bodies 1 [--bad] [--loops N] [--gap S]
      [--rewind] [--leave-at I] [--tracked]

With --bad --tracked it interleaves BodyArrays with a repeated id, an empty id and a wrong
joint count. With --bad alone it interleaves wrong pose counts, NaN joints, an all-NaN message,
stamps going backwards, a 2.5 s gap and a burst of 1,000 messages, then goes on with good
messages. --rewind starts every loop at
the first loop's stamps (a bag replayed in a loop). --tracked publishes
masksem_interfaces/BodyArray on /bodies, the bodies named alice and bob. --leave-at I: from
frame I on, the first body has left (tracked: alice's id is gone; PoseArray: the array shrinks,
so the second body's slot is the one that leaves). Prints "left STAMP_NS" at that frame.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import rclpy
from geometry_msgs.msg import PoseArray
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data

from masksem_core.data.gtu import read_gtu
from masksem_ros.codec import bodies_message, skeleton_message


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--bodies", type=int, default=1)
    parser.add_argument("--loops", type=int, default=1)
    parser.add_argument("--bad", action="store_true")
    parser.add_argument("--gap", type=float, default=0.0, help="a gap in the stamps after loop 1")
    parser.add_argument("--rewind", action="store_true")
    parser.add_argument("--leave-at", type=int, default=None)
    parser.add_argument("--tracked", action="store_true")
    args = parser.parse_args()
    frames = read_gtu(args.file).data[0]  # (T, 25, 3)
    rclpy.init()
    node = Node("skeleton_publisher")
    if args.tracked:
        from masksem_interfaces.msg import BodyArray

        pub = node.create_publisher(BodyArray, "/bodies", qos_profile_sensor_data)
    else:
        pub = node.create_publisher(PoseArray, "/skeleton", qos_profile_sensor_data)
    while pub.get_subscription_count() == 0:
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(0.5)
    period = 1.0 / args.rate
    stamp = time.time()
    sent = 0
    start = stamp
    for loop in range(args.loops):
        if loop and args.rewind:
            stamp = start
            print(f"rewind {round(stamp * 1e9)}", flush=True)
        if loop == 1 and args.gap:
            stamp += args.gap
            print(f"gap {stamp:.6f}", flush=True)
        for i, joints in enumerate(frames):
            if args.bodies == 2:
                joints = np.concatenate([joints, joints + np.array([0.8, 0.0, 0.0])])
            if args.bad and args.tracked and loop == 0 and i == 40:
                bodies = joints.reshape(-1, 25, 3)
                for ids, bad in (
                    (["alice", "alice"], bodies[[0, 0]]),  # the same id twice
                    ([""], bodies[:1]),  # an empty id
                    (["alice"], bodies[:1, :24]),  # a joint count that is not the model's
                ):
                    pub.publish(bodies_message(ids, bad, stamp))
                    time.sleep(0.05)
                stamp += 0.02
            elif args.bad and loop == 0 and i == 40:
                # spaced out so that best-effort delivery does not lose them in the burst
                pub.publish(skeleton_message(joints[:24], stamp))  # wrong pose count
                time.sleep(0.05)
                nan = joints.copy()
                nan[3] = math.nan
                pub.publish(skeleton_message(nan, stamp + 1e-3))  # NaN joint: accepted, filled
                time.sleep(0.05)
                nobody = np.full_like(joints, math.nan)
                pub.publish(skeleton_message(nobody, stamp + 2e-3))  # all NaN: dropped
                time.sleep(0.05)
                pub.publish(skeleton_message(joints, stamp - 0.5))  # a step back: out of order
                time.sleep(0.05)
                stamp += 2.5  # a 2.5 s gap
                for k in range(1000):  # a burst of 1,000 messages
                    pub.publish(skeleton_message(joints, stamp + k * 1e-5))
                stamp += 0.02
            if args.tracked:
                ids = ["alice", "bob"][: len(joints) // 25]
                bodies = joints.reshape(-1, 25, 3)
                if args.leave_at is not None and i >= args.leave_at:
                    ids, bodies = ids[1:], bodies[1:]
                pub.publish(bodies_message(ids, bodies, stamp))
            elif args.leave_at is not None and i >= args.leave_at:
                pub.publish(skeleton_message(joints[:25], stamp))  # the array shrinks
            else:
                pub.publish(skeleton_message(joints, stamp))
            if i == args.leave_at and loop == 0:
                print(f"left {round(stamp * 1e9)}", flush=True)
            sent += 1
            # the stamp exactly as the header carries it, in integer nanoseconds
            print(f"sent {sent} {time.time():.6f} {round(stamp * 1e9)}", flush=True)
            stamp += period
            time.sleep(period)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
