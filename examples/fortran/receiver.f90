! receiver: a numerical code taking blocks of samples from a ringdrop
! broadcast ring as a subscriber, through the C ABI (module ringdrop_c,
! iso_c_binding), and reporting every value it got.
!
!   receiver <ring-name> copy|view
!
! The ring must exist (the publisher creates it). The subscriber starts at
! the oldest block the ring still holds (start_at_oldest), so blocks
! published before it attached are seen too, as long as the ring keeps
! them. Each message is one sample_block, as publisher.f90 sends it (a
! sequence number, a sample count, a flag set on the last block, then
! `count` real(c_double) samples; only the used part is sent). `copy` takes
! each with ringdrop_ring_receive into a Fortran variable; `view` reads it
! in place with ringdrop_ring_read (c_f_pointer onto the ring's memory),
! copies what it needs, and hands it back with ringdrop_ring_release.
! The block with the last flag ends the input.
!
! Output (stdout), for the C++ partner to check bit for bit:
!   block <sequence> <count> <last>
!   sample <i> <the double's 64 bits in hex, 16 digits>   (count lines)
!   end <blocks> <missed>
!
! Exit status 0 when every block up to the last was received; 8 when a
! ringdrop call failed (timeout, publisher gone before the last block...)
! or a block is malformed (text on stderr); 2 on bad arguments.
!
! A message larger than a sample_block (more than 64 samples) is refused in
! both modes with "receiver: block <sequence> is <n> bytes, more than the
! 528 of a sample_block" on stderr and status 8. `copy` gets
! RINGDROP_EMSGSIZE from ringdrop_ring_receive, which keeps the message
! (the next receive or read returns it): the receiver reads it in place
! only to name it. Either way it is never released: the receiver stops at
! it rather than skip it.
!
! Build: gfortran ringdrop_c.f90 receiver.f90 -lringdrop -o receiver
program receiver
  use, intrinsic :: iso_c_binding
  use, intrinsic :: iso_fortran_env, only: error_unit, output_unit
  use ringdrop_c
  implicit none

  integer, parameter :: max_samples = 64
  ! The message: publisher.f90's type, mirrored by `struct SampleBlock` in
  ! fortran_sender.cpp (16-byte header, then the doubles).
  type, bind(C) :: sample_block
    integer(c_int64_t) :: sequence
    integer(c_int32_t) :: count
    integer(c_int32_t) :: last          ! 1 on the final block
    real(c_double) :: samples(max_samples)
  end type sample_block
  integer(c_long_long), parameter :: header_bytes = 16

  ! 5 s: how long a receive waits for the next block.
  integer(c_long_long), parameter :: receive_timeout_ns = 5000000000_c_long_long

  character(len=256) :: name, mode
  integer :: blocks, i
  integer(c_int) :: rc
  type(c_ptr) :: ring = c_null_ptr
  type(c_ptr) :: data
  type(ringdrop_ring_options) :: options
  type(sample_block), target :: incoming   ! copy: received into this
  type(sample_block), pointer :: view      ! view: laid over the ring's cell
  type(sample_block) :: block              ! the block taken, either way
  integer(c_long_long) :: nbytes, missed
  logical :: in_place

  if (command_argument_count() /= 2) then
    write (error_unit, '(a)') 'usage: receiver <ring-name> copy|view'
    stop 2
  end if
  call get_command_argument(1, name)
  call get_command_argument(2, mode)
  if (mode /= 'copy' .and. mode /= 'view') then
    write (error_unit, '(a)') 'receiver: the mode is copy or view'
    stop 2
  end if
  in_place = mode == 'view'

  call ringdrop_ring_options_init(options)
  if (options%size /= c_sizeof(options)) then
    write (error_unit, '(a,i0,a,i0)') 'receiver: ringdrop_ring_options is ', &
      options%size, ' bytes in the library, ', c_sizeof(options)
    stop 8
  end if
  options%start_at_oldest = 1   ! what the ring still holds, then what comes

  rc = ringdrop_ring_open(trim(name)//c_null_char, RINGDROP_RING_BROADCAST, &
                          RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, options, ring)
  call check(rc, 'ringdrop_ring_open')

  blocks = 0
  do
    if (in_place) then
      ! Zero-copy: the block where it lies in the ring. The pointer covers
      ! a whole sample_block, but only the `nbytes` sent are looked at.
      rc = ringdrop_ring_read(ring, receive_timeout_ns, data, nbytes)
      call check(rc, 'ringdrop_ring_read')
      call c_f_pointer(data, view)
      call take(view, nbytes)
      ! Released only after the copy: until then the publisher may not
      ! reuse the cell (block policy).
      rc = ringdrop_ring_release(ring)
      call check(rc, 'ringdrop_ring_release')
    else
      rc = ringdrop_ring_receive(ring, c_loc(incoming), c_sizeof(incoming), nbytes, &
                                 receive_timeout_ns)
      if (rc == RINGDROP_EMSGSIZE) then
        ! It does not fit `incoming`; nbytes is its size, and the library
        ! kept it: read in place (no wait), it says which block it is.
        rc = ringdrop_ring_read(ring, 0_c_long_long, data, nbytes)
        call check(rc, 'ringdrop_ring_read')
        call c_f_pointer(data, view)
        call too_large(view%sequence, nbytes)
      end if
      call check(rc, 'ringdrop_ring_receive')
      call take(incoming, nbytes)
    end if
    blocks = blocks + 1
    if (block%last == 1) exit
  end do

  rc = ringdrop_ring_last_missed(ring, missed)
  call check(rc, 'ringdrop_ring_last_missed')
  call ringdrop_ring_close(ring)
  write (output_unit, '(a,i0,1x,i0)') 'end ', blocks, missed

contains

  ! Checks the block `got` (nbytes received), copies it into `block` and
  ! reports it.
  subroutine take(got, nbytes)
    type(sample_block), intent(in) :: got
    integer(c_long_long), intent(in) :: nbytes
    integer(c_int64_t) :: bits
    if (nbytes < header_bytes) then
      write (error_unit, '(a,i0,a)') 'receiver: a message of ', nbytes, &
        ' bytes, shorter than the block header'
      call give_up()
    end if
    if (nbytes > c_sizeof(got)) call too_large(got%sequence, nbytes)
    block%sequence = got%sequence
    block%count = got%count
    block%last = got%last
    if (block%count < 0 .or. block%count > max_samples .or. &
        nbytes /= header_bytes + 8 * int(block%count, c_long_long)) then
      write (error_unit, '(a,i0,a,i0,a,i0)') 'receiver: block ', block%sequence, &
        ' says ', block%count, ' samples in ', nbytes
      call give_up()
    end if
    block%samples(1:block%count) = got%samples(1:block%count)
    write (output_unit, '(a,i0,1x,i0,1x,i0)') 'block ', block%sequence, block%count, block%last
    do i = 1, block%count
      ! The bits, not a decimal rendering: -0.0, NaN payloads and
      ! subnormals are compared exactly.
      bits = transfer(block%samples(i), bits)
      write (output_unit, '(a,i0,1x,z16.16)') 'sample ', i, bits
    end do
  end subroutine take

  ! A message larger than a sample_block: says which and how large, and
  ! stops (status 8) without releasing it.
  subroutine too_large(sequence, nbytes)
    integer(c_int64_t), intent(in) :: sequence
    integer(c_long_long), intent(in) :: nbytes
    write (error_unit, '(a,i0,a,i0,a,i0,a)') 'receiver: block ', sequence, ' is ', nbytes, &
      ' bytes, more than the ', c_sizeof(block), ' of a sample_block'
    call give_up()
  end subroutine too_large

  subroutine give_up()
    call ringdrop_ring_close(ring)
    stop 8
  end subroutine give_up

  ! Stops with status 8, saying why, if rc is not RINGDROP_OK.
  subroutine check(rc, what)
    integer(c_int), intent(in) :: rc
    character(len=*), intent(in) :: what
    character(len=:), allocatable :: detail
    if (rc == RINGDROP_OK) return
    detail = c_string(ringdrop_last_error_message())
    write (error_unit, '(a,a,i0,a,a)') what, ' failed, rc ', rc, ': ', &
      c_string(ringdrop_strerror(rc))
    if (len(detail) > 0) write (error_unit, '(a,a)') '  ', detail
    call ringdrop_ring_close(ring)   ! NULL (never opened) is a no-op
    stop 8
  end subroutine check

end program receiver
