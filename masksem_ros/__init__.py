"""ROS 2 nodes of MaskSem (thin: the logic lives in masksem_core.runtime)."""
